/** Creating and checking the topics the processor needs (SPEC §3–5). */
import { setTimeout as sleep } from 'node:timers/promises'
import { AssetstreamError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Admin } from './kafkajs.js'

export interface TopicSpec {
  readonly topic: string
  readonly partitions: number
  /** At least this many partitions (the changelog must cover every input partition). */
  readonly minPartitions?: number
  readonly configs?: Readonly<Record<string, string>>
}

/** Partition count of each existing topic among `topics`; absent topics are missing from the map. */
export async function partitionCounts(
  admin: Admin,
  topics: readonly string[],
): Promise<Map<string, number>> {
  const existing = new Set(await admin.listTopics())
  const present = topics.filter((t) => existing.has(t))
  const out = new Map<string, number>()
  if (present.length === 0) return out
  const { topics: meta } = await admin.fetchTopicMetadata({ topics: present })
  for (const t of meta) out.set(t.name, t.partitions.length)
  return out
}

/** min(3, brokers): what an operator expects by default from a cluster of any size. */
export async function defaultReplicationFactor(admin: Admin): Promise<number> {
  const { brokers } = await admin.describeCluster()
  return Math.max(1, Math.min(3, brokers.length))
}

/**
 * Creates the topics that are missing when `create` is set, and checks the others. Throws one
 * error listing every problem.
 */
export async function ensureTopics(
  admin: Admin,
  specs: readonly TopicSpec[],
  options: { create: boolean; replicationFactor: number | undefined },
  logger: Logger,
): Promise<void> {
  const counts = await partitionCounts(
    admin,
    specs.map((s) => s.topic),
  )
  const missing = specs.filter((s) => !counts.has(s.topic))
  const problems: string[] = []
  for (const s of specs) {
    const n = counts.get(s.topic)
    if (n !== undefined && s.minPartitions !== undefined && n < s.minPartitions) {
      problems.push(`topic ${s.topic} has ${n} partitions, needs at least ${s.minPartitions}`)
    }
  }
  if (missing.length > 0 && !options.create) {
    problems.push(`missing topics (creation is off): ${missing.map((s) => s.topic).join(', ')}`)
  }
  if (problems.length === 0 && missing.length > 0) {
    const replicationFactor = options.replicationFactor ?? (await defaultReplicationFactor(admin))
    // kafkajs takes TOPIC_ALREADY_EXISTS (another instance was first) as done; its own wait for
    // leaders asks one broker only, awaitLeaders below asks until every partition has one.
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor,
        configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
    })
    // On a cluster, the brokers learn of a new topic one by one: wait until every partition of
    // every topic has a leader (this also covers topics another instance created at the same time).
    const unready = await awaitLeaders(
      admin,
      missing.map((s) => s.topic),
      LEADER_TIMEOUT_MS,
    )
    if (unready.length > 0)
      throw new AssetstreamError(
        'broker_unavailable',
        `created topics without a leader for every partition yet: ${unready.join(', ')}`,
        { retriable: true },
      )
    logger.info({ topics: missing.map((s) => s.topic), replicationFactor }, 'created topics')
  }
  if (problems.length > 0) {
    throw new AssetstreamError(
      'invalid_config',
      `topic problems:\n  - ${problems.join('\n  - ')}`,
      { problems },
    )
  }
}

/** How long topic creation waits for the new topics' leaders. */
const LEADER_TIMEOUT_MS = 30_000

/**
 * Waits until the metadata shows a leader for every partition of `topics`; returns the topics
 * still without one at the deadline. Metadata errors while the brokers catch up
 * (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE) count as not ready yet.
 */
export async function awaitLeaders(
  admin: Admin,
  topics: readonly string[],
  timeoutMs: number,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  let unready = [...topics]
  for (let wait = 100; ; wait = Math.min(wait * 2, 1_000)) {
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: unready })
      const led = new Set(
        meta
          .filter((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))
          .map((t) => t.name),
      )
      unready = unready.filter((t) => !led.has(t))
    } catch {
      // not every broker knows the topics yet
    }
    if (unready.length === 0 || Date.now() + wait > deadline) return unready
    await sleep(wait)
  }
}
