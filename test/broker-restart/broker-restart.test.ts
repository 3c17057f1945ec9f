/**
 * The broker stopped and restarted mid-stream. NOT part of `npm test`: it fails intermittently
 * (see the open issue "Exactly once, durable lineage state, and proof under faults"). Seen this
 * session: 22 and 371 duplicate ids under exactly once (two causes, both fixed since) and the
 * test's own kafkajs producer failing with an unhandled `KafkaJSConnectionClosedError` while the
 * broker stops. Run it with `npm run test:broker-restart`.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'vitest'
import type { Guarantee } from '../../src/config/config.js'
import { runFaultScenario, stack } from '../integration/faults.js'

const MODES: Guarantee[] = ['exactly-once', 'at-least-once']

describe.each(MODES)('%s under a broker restart', (guarantee) => {
  it('rides out the broker stopped and restarted mid-stream', async () => {
    await runFaultScenario({
      label: `broker-${guarantee}`,
      guarantee,
      during: async (s) => {
        await sleep(3_000) // a backlog first, so batches and transactions are in flight at the stop
        const p = s.start()
        await p.started()
        await s.progress(0.1)
        stack('stop-broker')
        await sleep(4_000)
        stack('start-broker')
        return [p]
      },
    })
  })
})
