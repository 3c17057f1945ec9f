/**
 * The three-broker cluster of `stack/stack.sh cluster-up` (one KRaft controller, brokers 1–3, RF 3,
 * min.insync.replicas 2): who leads what, and waiting for the replicas to be in sync again.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { stack } from '../integration/faults.js'
import { waitFor, withAdmin } from '../integration/support.js'

export const BROKER_IDS = [1, 2, 3] as const

/** Partition leaders of `topics`, by broker id. */
export async function leaderCounts(topics: readonly string[]): Promise<Map<number, number>> {
  const { topics: meta } = await withAdmin((admin) =>
    admin.fetchTopicMetadata({ topics: [...topics] }),
  )
  const counts = new Map<number, number>(BROKER_IDS.map((b) => [b, 0]))
  for (const t of meta)
    for (const p of t.partitions) counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1)
  return counts
}

/** The broker leading most partitions of `topics`. */
export async function busiestBroker(topics: readonly string[]): Promise<number> {
  const counts = await leaderCounts(topics)
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] as number
}

/** Java's String.hashCode, which Kafka uses to place a group or transactional id. */
function javaHash(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0
  return h
}

/**
 * The broker of a coordinator: the leader of the internal topic's partition the id hashes to
 * (Kafka's `Utils.abs(id.hashCode) % partitions`), `__consumer_offsets` for a group,
 * `__transaction_state` for a transactional id.
 */
export async function coordinatorOf(
  id: string,
  topic: '__consumer_offsets' | '__transaction_state',
): Promise<number> {
  const { topics } = await withAdmin((admin) => admin.fetchTopicMetadata({ topics: [topic] }))
  const partitions = topics[0]?.partitions ?? []
  const p = (javaHash(id) & 0x7fffffff) % partitions.length
  return partitions.find((x) => x.partitionId === p)?.leader as number
}

/**
 * Waits until every partition of `topics` and of the internal topics (those created yet: a fresh
 * cluster has none until a group or a transactional producer needs one) has all its replicas in
 * sync.
 */
export async function awaitInSync(topics: readonly string[], timeoutMs = 120_000): Promise<void> {
  await waitFor(
    'every replica back in sync',
    async () => {
      try {
        const { topics: meta } = await withAdmin(async (admin) => {
          const existing = new Set(await admin.listTopics())
          const internal = ['__consumer_offsets', '__transaction_state'].filter((t) =>
            existing.has(t),
          )
          return admin.fetchTopicMetadata({ topics: [...topics, ...internal] })
        })
        return meta.every((t) => t.partitions.every((p) => p.isr.length === p.replicas.length))
          ? true
          : undefined
      } catch {
        return undefined
      }
    },
    timeoutMs,
    500,
  )
}

/** Stops (SIGTERM) each broker in turn and starts it again once the cluster is in sync. */
export async function rollingRestart(topics: readonly string[]): Promise<void> {
  for (const b of BROKER_IDS) {
    await stack('cluster-stop', String(b))
    await sleep(2_000)
    await stack('cluster-start', String(b))
    await awaitInSync(topics)
  }
}
