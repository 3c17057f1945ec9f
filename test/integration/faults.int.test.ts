/**
 * Fault injection on the real broker and registry (SPEC §4), in both delivery modes: every
 * expected event arrives; exactly once shows no duplicate id to a read_committed consumer.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import type { Guarantee } from '../../src/config/config.js'
import { registryPid, runFaultScenario, stack } from './faults.js'
import { waitFor } from './support.js'

const MODES: Guarantee[] = ['exactly-once', 'at-least-once']

describe.each(MODES)('%s under faults', (guarantee) => {
  it('survives kill -9 mid-stream and a restart', async () => {
    const out = await runFaultScenario({
      label: `kill-${guarantee}`,
      guarantee,
      during: async (s) => {
        const first = s.start()
        await first.started()
        await s.progress(0.25)
        await first.kill9()
        const second = s.start()
        await second.started()
        await waitFor(
          'the restart to restore lineage from the changelog',
          () => (second.logs.includes('restored lineage state') ? true : undefined),
          90_000,
        )
        return [second]
      },
    })
    expect(out.records).toBeGreaterThanOrEqual(out.expected)
  })

  it('keeps lineage and guarantees through rebalances: two instances, a third joins, one leaves', async () => {
    await runFaultScenario({
      label: `rebalance-${guarantee}`,
      guarantee,
      during: async (s) => {
        const [a, b] = [s.start(), s.start()]
        await Promise.all([a.started(), b.started()])
        await s.progress(0.2)
        const c = s.start()
        await c.started()
        await s.progress(0.45)
        expect(await b.stop()).toBe(0)
        // The partitions moved: the instances that took them over restored their lineage state.
        await waitFor(
          'a restore after the moves',
          () =>
            a.logs.includes('restored lineage state') || c.logs.includes('restored lineage state')
              ? true
              : undefined,
          60_000,
        )
        return [a, c]
      },
    })
  })

  it('rides out the broker stopped and restarted mid-stream', async () => {
    await runFaultScenario({
      label: `broker-${guarantee}`,
      guarantee,
      during: async (s) => {
        await sleep(3_000) // a backlog first, so batches and transactions are in flight at the stop
        const p = s.start()
        await p.started()
        await s.progress(0.1)
        await stack('stop-broker')
        await sleep(4_000)
        await stack('start-broker')
        return [p]
      },
    })
  })

  it('pauses while the schema registry is unreachable and resumes, nothing to the DLQ', async () => {
    await runFaultScenario({
      label: `registry-${guarantee}`,
      guarantee,
      avroFrom: 5_000,
      holdAt: 5_000,
      during: async (s) => {
        const p = s.start()
        await p.started()
        await s.progress(0.5) // every JSON message done; the Avro ones need the registry
        const pid = registryPid()
        process.kill(pid, 'SIGSTOP') // unreachable: connections hang, nothing answers
        try {
          s.release()
          await sleep(8_000)
          expect(await s.committed(), 'processing waits for the registry').toBeLessThan(s.total)
          expect(p.child.exitCode).toBeNull()
        } finally {
          process.kill(pid, 'SIGCONT')
        }
        return [p]
      },
    })
  })
})
