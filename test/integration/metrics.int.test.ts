/** The ops endpoint on the real stack: /metrics counts what was processed, /healthz, /readyz. */
import { describe, expect, it } from 'vitest'
import { generateMessages } from '../../src/bench/workload.js'
import { deriveAll } from './expected.js'
import { stack } from './faults.js'
import {
  consumeUntil,
  createTopic,
  namesDeletedAfterAll,
  ProcessorProcess,
  produce,
  waitFor,
} from './support.js'

const testNames = namesDeletedAfterAll()

/** Sums the samples of a metric whose labels include `match`. */
function sample(text: string, metric: string, match: Record<string, string> = {}): number {
  let sum = 0
  let found = false
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue
    const m = /^([a-z_]+)(\{([^}]*)\})? ([-+0-9.eE]+|NaN)$/.exec(line)
    if (m === null || m[1] !== metric) continue
    const labels = new Map(
      [...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1] ?? '', x[2] ?? '']),
    )
    if (Object.entries(match).every(([k, v]) => labels.get(k) === v)) {
      sum += Number(m[4])
      found = true
    }
  }
  if (!found) throw new Error(`no sample of ${metric} ${JSON.stringify(match)}`)
  return sum
}

describe.each(['at-least-once', 'exactly-once'])('ops endpoint (%s)', (guarantee) => {
  it('counts messages, events per type, dead letters per code, lineage; answers health and readiness', async () => {
    const n = testNames(`metrics-${guarantee}`)
    await createTopic(n.input, 3)
    const input = generateMessages({ messages: 1500, seed: 21, invalidRatio: 0.02 })
    const invalid = input.filter((m) => m.invalid !== undefined)
    expect(invalid.length).toBeGreaterThan(10)
    await produce(
      n.input,
      input.map((m) => ({ key: m.key, value: JSON.stringify(m.value) })),
    )
    const expected = deriveAll(input.map((m) => m.value))
    expect(expected.rejected).toBe(invalid.length)

    const p = new ProcessorProcess(n, { ASSETSTREAM_GUARANTEE: guarantee })
    try {
      await p.started()
      const port = await waitFor('the ops port in the log', () => p.opsPort())
      const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`)
      await consumeUntil(
        [...n.eventTopics, n.dlq],
        (got) => got.length >= expected.events.length + invalid.length,
      )
      const text = await waitFor('every message counted', async () => {
        const t = await (await get('/metrics')).text()
        return sample(t, 'assetstream_messages_consumed_total') >= input.length ? t : undefined
      })
      expect(sample(text, 'assetstream_messages_consumed_total')).toBe(input.length)
      for (const event of new Set(expected.events.map((e) => e.event))) {
        expect(sample(text, 'assetstream_events_published_total', { event })).toBe(
          expected.events.filter((e) => e.event === event).length,
        )
      }
      for (const code of new Set(invalid.map((m) => m.invalid as string))) {
        expect(sample(text, 'assetstream_dead_letters_total', { code })).toBe(
          invalid.filter((m) => m.invalid === code).length,
        )
      }
      expect(sample(text, 'assetstream_lineage_entries')).toBeGreaterThan(100)
      expect(sample(text, 'assetstream_lineage_bytes')).toBeGreaterThan(10_000)
      expect(sample(text, 'assetstream_message_latency_seconds_count')).toBe(input.length)
      expect(sample(text, 'assetstream_consumer_lag')).toBe(0)
      expect(sample(text, 'assetstream_process_resident_memory_bytes')).toBeGreaterThan(10_000_000)
      if (guarantee === 'exactly-once')
        expect(
          sample(text, 'assetstream_transactions_total', { outcome: 'commit' }),
        ).toBeGreaterThan(0)

      expect((await get('/healthz')).status).toBe(200)
      const ready = await get('/readyz')
      expect([ready.status, await ready.text()]).toEqual([200, 'ready\n'])
      expect((await get('/nope')).status).toBe(404)
    } finally {
      expect(await p.stop()).toBe(0)
    }
  })
})

describe('readiness follows the broker', () => {
  it('/readyz turns 503 within seconds of the broker stopping, and 200 again once it is back', async () => {
    const n = testNames('readyz-broker')
    await createTopic(n.input, 2)
    const p = new ProcessorProcess(n)
    try {
      await p.started()
      const port = await waitFor('the ops port in the log', () => p.opsPort())
      const readyz = async () => {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`)
        return { status: r.status, text: await r.text() }
      }
      await waitFor('ready', async () => ((await readyz()).status === 200 ? true : undefined))
      await stack('stop-broker')
      try {
        const down = await waitFor(
          '/readyz to say 503',
          async () => {
            const r = await readyz()
            return r.status === 503 ? r : undefined
          },
          15_000, // two failed 2 s probes, with room for a loaded machine
        )
        expect(down.text).toMatch(/^the Kafka cluster does not answer/)
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
      } finally {
        await stack('start-broker')
      }
      await waitFor(
        '/readyz to say 200 again',
        async () => ((await readyz()).status === 200 ? true : undefined),
        90_000,
      )
    } finally {
      expect(await p.stop(60_000)).toBe(0)
    }
  })
})
