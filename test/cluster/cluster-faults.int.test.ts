/**
 * The guarantees on a replicated cluster (three brokers, RF 3, min.insync.replicas 2), in both
 * delivery modes: partition leaders and coordinators moving, a rolling restart, two brokers down
 * at once, the processor's own crash during a leader move, topics created by two instances
 * starting together. Every scenario is the fault harness's (≥10,000 messages over 4 partitions,
 * lineage crossing task runs, read_committed readers against `derive`).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Guarantee } from '../../src/config/config.js'
import { runFaultScenario, stack, type Scenario } from '../integration/faults.js'
import { waitFor, withAdmin, type ProcessorProcess } from '../integration/support.js'
import { awaitInSync, busiestBroker, coordinatorOf, rollingRestart } from './cluster.js'

const MODES: Guarantee[] = ['exactly-once', 'at-least-once']

/** The topics whose leaders matter to a scenario: the input and the processor's outputs. */
const dataTopics = (s: Scenario) => [s.n.input, ...s.n.eventTopics, s.n.dlq]

/** One processor; a fifth of the way, kill -9 of the broker `victim` picks; restarted at half. */
const killAndRestart =
  (victim: (s: Scenario) => Promise<number>) =>
  async (s: Scenario): Promise<ProcessorProcess[]> => {
    const p = s.start()
    await p.started()
    await s.progress(0.2)
    const broker = String(await victim(s))
    await stack('cluster-kill', broker)
    await s.progress(0.5)
    await stack('cluster-start', broker)
    return [p]
  }

// Every scenario starts on the whole cluster, in sync, whatever the one before left behind.
beforeEach(async () => {
  await stack('cluster-up')
  await awaitInSync([])
})

describe.each(MODES)('%s on a three-broker cluster', (guarantee) => {
  it('survives kill -9 of the broker leading most partitions, restarted later', async () => {
    await runFaultScenario({
      label: `leader-${guarantee}`,
      guarantee,
      during: killAndRestart((s) => busiestBroker(dataTopics(s))),
    })
  })

  it('survives kill -9 of the broker holding the group and transaction coordinators', async () => {
    await runFaultScenario({
      label: `coord-${guarantee}`,
      guarantee,
      during: killAndRestart(async (s) => {
        const group = await coordinatorOf(s.n.group, '__consumer_offsets')
        // Exactly once: one transactional id per input partition, each with its coordinator.
        const txn =
          s.guarantee === 'exactly-once'
            ? await Promise.all(
                [0, 1, 2, 3].map((i) =>
                  coordinatorOf(`${s.n.group}.${s.n.input}.${i}`, '__transaction_state'),
                ),
              )
            : []
        process.stderr.write(
          `[cluster] group coordinator on broker ${group}, transaction coordinators on ${txn.join(',')}\n`,
        )
        return group
      }),
    })
  })

  it('keeps both guarantees through a rolling restart of all three brokers', async () => {
    await runFaultScenario({
      label: `rolling-${guarantee}`,
      guarantee,
      during: async (s) => {
        const p = s.start()
        await p.started()
        await s.progress(0.1)
        await rollingRestart(dataTopics(s))
        return [p]
      },
    })
  })

  it('pauses with two brokers down (NOT_ENOUGH_REPLICAS), no dead letter, no crash, and resumes', async () => {
    await runFaultScenario({
      label: `isr-${guarantee}`,
      guarantee,
      during: async (s) => {
        await sleep(8_000) // the whole input first: a backlog the processor is in the middle of
        const p = s.start()
        await p.started()
        // Once in the group: with two brokers gone the group coordinator cannot store an
        // assignment (its topic needs two in-sync replicas too), and a processor that never got
        // one would never produce.
        await waitFor(
          'the processor to be assigned its partitions',
          () => (p.logs.includes('"partitions assigned"') ? true : undefined),
          60_000,
        )
        await Promise.all([stack('cluster-kill', '2'), stack('cluster-kill', '3')])
        try {
          // At least once the event partitions' leader answers NOT_ENOUGH_REPLICAS. Under exactly
          // once the transaction coordinator goes first (its state topic has min.insync.replicas
          // 2 too): AddPartitionsToTxn waits, times out and is retried.
          await waitFor(
            'the processor to meet the outage',
            () =>
              (guarantee === 'at-least-once'
                ? /fewer in-sync replicas/
                : /AddPartitionsToTxn.*timed out|coordinator is not available/
              ).test(p.logs)
                ? true
                : undefined,
            90_000,
          ).catch((e: unknown) => {
            throw new Error(`${(e as Error).message}; its last log lines:\n${p.logs.slice(-4_000)}`)
          })
          const before = await s.committed()
          await sleep(5_000)
          expect(await s.committed(), 'nothing commits while writes cannot be replicated').toBe(
            before,
          )
          expect(before).toBeLessThan(s.total)
          expect(p.child.exitCode, 'the processor waits, it does not crash').toBeNull()
          // One broker back is enough (two in-sync replicas): everything is processed then.
          await stack('cluster-start', '2')
          await s.progress(1)
        } finally {
          await Promise.all([stack('cluster-start', '2'), stack('cluster-start', '3')])
        }
        await awaitInSync(dataTopics(s))
        return [p]
      },
    })
  })

  it("survives the processor's own kill -9 during a leader move", async () => {
    await runFaultScenario({
      label: `crash-move-${guarantee}`,
      guarantee,
      during: async (s) => {
        const first = s.start()
        await first.started()
        await s.progress(0.25)
        const victim = await busiestBroker(dataTopics(s))
        await Promise.all([stack('cluster-kill', String(victim)), first.kill9()])
        const second = s.start()
        await second.started()
        await s.progress(0.6)
        await stack('cluster-start', String(victim))
        return [second]
      },
    })
  })

  it('creates its topics on the cluster with two instances starting together', async () => {
    await runFaultScenario({
      label: `create-${guarantee}`,
      guarantee,
      during: async (s) => {
        const [a, b] = [s.start(), s.start()]
        await Promise.all([a.started(), b.started()])
        // Every topic they created is replicated three times, every partition with a leader.
        const created = [...s.n.eventTopics, s.n.dlq, `${s.n.group}-lineage-changelog`]
        const { topics } = await withAdmin((admin) => admin.fetchTopicMetadata({ topics: created }))
        expect(topics.map((t) => t.name).sort()).toEqual(created.sort())
        for (const t of topics)
          for (const partition of t.partitions) {
            expect(partition.replicas, `${t.name}/${partition.partitionId}`).toHaveLength(3)
            expect(partition.leader).toBeGreaterThan(0)
          }
        return [a, b]
      },
    })
  })
})
