/**
 * Every conformance case through the real broker and registry: the input lines produced to a fresh
 * input topic, the event topics read back and decoded through the registry, compared with the
 * expected JSON form (ids included, in source order per topic partition), rejected lines in the DLQ.
 */
import { describe, expect, it } from 'vitest'
import { HEADERS } from '../../src/pipeline/batch.js'
import { loadCases, withoutSourceLine, type ConformanceCase } from '../helpers/conformance.js'
import {
  consumeUntil,
  createTopic,
  namesDeletedAfterAll,
  EventReader,
  header,
  ProcessorProcess,
  produce,
} from './support.js'

const cases = loadCases()
const reader = new EventReader()
const testNames = namesDeletedAfterAll()

/** Input lines to produce, keyed by flow run id (the spec's key), blank lines skipped. */
function inputMessages(c: ConformanceCase): { line: number; key: string; value: string }[] {
  return c.lines.flatMap((text, i) => {
    if (text.trim() === '') return []
    let key = 'unparseable'
    try {
      const m = JSON.parse(text) as {
        flow_run?: { id?: unknown } | null
        task_run?: { id?: unknown }
      }
      const id = m.flow_run?.id ?? m.task_run?.id
      if (typeof id === 'string') key = id
    } catch {
      // not JSON: any key will do, it goes to the DLQ
    }
    return [{ line: i + 1, key, value: text }]
  })
}

async function runCase(c: ConformanceCase): Promise<void> {
  const n = testNames(c.name.replace(/_/g, '-').slice(0, 30))
  // One input partition: the line → offset mapping is then the produce order.
  await createTopic(n.input, 1)
  const msgs = inputMessages(c)
  const landed = await produce(
    n.input,
    msgs.map(({ key, value }) => ({ key, value })),
  )
  const lineOf = new Map(landed.map((l, i) => [l.offset, msgs[i]?.line]))

  const processor = new ProcessorProcess(n)
  try {
    await processor.started()
    const expected = c.expected.map(withoutSourceLine)
    const all = await consumeUntil([...n.eventTopics, n.dlq], (got) => {
      const events = got.filter((r) => r.topic !== n.dlq).length
      const dead = got.filter((r) => r.topic === n.dlq).length
      return events >= expected.length && dead >= c.rejected.length
    })
    const events = await Promise.all(
      all
        .filter((r) => r.topic !== n.dlq)
        .map(async (r) => ({ r, e: await reader.decode(r, n.prefix) })),
    )

    // The same events, ids included.
    const byId = new Map(expected.map((e, i) => [e.id as string, i]))
    expect(events.map(({ e }) => JSON.stringify(e)).sort()).toEqual(
      expected.map((e) => JSON.stringify(e)).sort(),
    )
    // In source order within each topic partition.
    const perPartition = new Map<string, number[]>()
    for (const { r, e } of events) {
      const k = `${r.topic}/${r.partition}`
      perPartition.set(k, [...(perPartition.get(k) ?? []), byId.get(e.id) as number])
      expect(header(r.message, HEADERS.eventId)).toBe(e.id)
      expect(r.message.key?.toString()).toBe(e.resource['prefect.resource.id'])
    }
    for (const order of perPartition.values())
      expect(order).toEqual([...order].sort((a, b) => a - b))

    // Rejected lines: in the DLQ with their code, original bytes, and source coordinates.
    const dead = all.filter((r) => r.topic === n.dlq)
    const got = dead.map((r) => ({
      line: lineOf.get(header(r.message, HEADERS.sourceOffset) as string),
      code: header(r.message, HEADERS.errorCode),
    }))
    // The DLQ is keyed like the input, so its records spread over partitions: compare by line.
    expect(got.sort((a, b) => (a.line ?? 0) - (b.line ?? 0))).toEqual(c.rejected)
    for (const r of dead) {
      const line = lineOf.get(header(r.message, HEADERS.sourceOffset) as string) as number
      expect(r.message.value?.toString()).toBe(c.lines[line - 1])
      expect(header(r.message, HEADERS.sourceTopic)).toBe(n.input)
      expect(header(r.message, HEADERS.sourcePartition)).toBe('0')
      expect(header(r.message, HEADERS.errorMessage)?.length).toBeGreaterThan(0)
      expect(Date.parse(header(r.message, HEADERS.failedAt) as string)).toBeGreaterThan(
        Date.parse('2026-01-01'),
      )
    }
  } finally {
    const code = await processor.stop()
    expect(code, processor.logs.slice(-3000)).toBe(0)
  }
}

describe('conformance cases through Kafka and the schema registry', () => {
  it('covers every case of the shared contract', () => {
    expect(cases.length).toBeGreaterThanOrEqual(13)
  })
  for (const c of cases) it(c.name, () => runCase(c))
})
