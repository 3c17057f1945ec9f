/**
 * The broker stopped and restarted mid-stream. NOT part of `npm test` yet: it fails on the current
 * code (see the open issue "Exactly once, durable lineage state, and proof under faults"): the
 * processor does not stop within 90 s after the restart, and the test's own kafkajs client raises
 * an unhandled KafkaJSConnectionClosedError. Run it with `npm run test:broker-restart`.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { describe } from 'vitest'
import { it } from 'vitest'
import type { Guarantee } from '../../src/config/config.js'
import { runFaultScenario, stack } from '../integration/faults.js'

const MODES: Guarantee[] = ['exactly-once', 'at-least-once']

describe.each(MODES)('%s under a broker restart', (guarantee) => {
  it('rides out the broker stopped and restarted mid-stream', async () => {
    await runFaultScenario({
      label: `broker-${guarantee}`,
      guarantee,
      during: async (s) => {
        const p = s.start()
        await p.started()
        await s.progress(0.25)
        stack('stop-broker')
        await sleep(4_000)
        stack('start-broker')
        return [p]
      },
    })
  })
})
