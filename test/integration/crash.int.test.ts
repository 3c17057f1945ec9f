/**
 * kill -9 of the processor in the middle of 10,000+ messages, then a restart: every event `derive`
 * gives for the input is present (at least once; a duplicate carries the same id and content).
 * Lineage inherited across the crash is resolved from the restored changelog state.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { generateMessages } from '../../src/bench/workload.js'
import { HEADERS } from '../../src/pipeline/batch.js'
import { deriveAll } from './expected.js'
import {
  consumeUntil,
  createTopic,
  deleteRunTopics,
  EventReader,
  header,
  names,
  ProcessorProcess,
  produce,
  waitFor,
  withAdmin,
} from './support.js'

const n = names('crash')
afterAll(async () => {
  await deleteRunTopics(n.run)
})

describe('at-least-once across a kill -9', () => {
  it('delivers every expected event after a crash and restart', async () => {
    await createTopic(n.input, 4)
    const input = generateMessages({ messages: 12_000, seed: 11 })
    const expected = deriveAll(input.map((m) => m.value)).events
    expect(expected.length).toBeGreaterThan(4_000) // 0.4 events per message
    await produce(
      n.input,
      input.map((m) => ({ key: m.key, value: JSON.stringify(m.value) })),
      1_000,
    )

    // Slow the first instance down to small batches, so the kill lands mid-stream.
    const first = new ProcessorProcess(n, { ASSETSTREAM_PARTITIONS_CONCURRENTLY: '1' })
    await first.started()
    const committed = async () =>
      withAdmin(async (admin) => {
        const [t] = await admin.fetchOffsets({ groupId: n.group, topics: [n.input] })
        return (t?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0)
      })
    // Kill once some offsets are committed but far from all.
    const before = await waitFor(
      'some progress',
      async () => {
        const c = await committed()
        return c > 500 ? c : undefined
      },
      120_000,
      100,
    )
    await first.kill9()
    expect(before).toBeLessThan(input.length)

    const second = new ProcessorProcess(n)
    try {
      await second.started()
      await waitFor(
        'every offset committed',
        async () => ((await committed()) >= input.length ? true : undefined),
        180_000,
        500,
      )
      const all = await consumeUntil(n.eventTopics, (got) => got.length >= expected.length, 120_000)
      const reader = new EventReader()
      const byId = new Map<string, string>()
      for (const r of all) {
        const e = await reader.decode(r, n.prefix)
        const text = JSON.stringify(e)
        const seen = byId.get(e.id)
        if (seen !== undefined) expect(text).toBe(seen) // a duplicate is the same event
        byId.set(e.id, text)
        expect(header(r.message, HEADERS.eventId)).toBe(e.id)
      }
      const missing = expected.filter((e) => byId.get(e.id) !== JSON.stringify(e))
      expect(missing.slice(0, 3)).toEqual([])
      expect(byId.size).toBe(expected.length)
      expect(second.logs).toContain('restored lineage state')
    } finally {
      expect(await second.stop()).toBe(0)
    }
  })
})
