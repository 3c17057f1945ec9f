/** /readyz's view of the cluster: unreachable after failed requests in a row, back at an answer. */
import { describe, expect, it } from 'vitest'
import { Reachability } from '../../../src/kafka/reachability.js'

describe('Reachability', () => {
  it('turns not ready after the failures in a row, and ready again at the first answer', async () => {
    let up = true
    let now = 0
    const r = new Reachability(() => (up ? Promise.resolve() : Promise.reject(new Error('down'))), {
      everyMs: 1_000,
      failures: 2,
      now: () => now,
    })
    await r.probe()
    expect(r.notReady()).toBeUndefined()
    up = false
    now = 10_000
    await r.probe()
    expect(r.notReady(), 'one failure is not enough').toBeUndefined()
    now = 12_000
    await r.probe()
    expect(r.notReady()).toBe('the Kafka cluster does not answer (for 2 s)')
    up = true
    await r.probe()
    expect(r.notReady()).toBeUndefined()
  })

  it('counts an answer later than the interval as none', async () => {
    const r = new Reachability(() => new Promise<void>(() => undefined), {
      everyMs: 20,
      failures: 1,
    })
    await r.probe()
    expect(r.notReady()).toMatch(/does not answer/)
  })
})
