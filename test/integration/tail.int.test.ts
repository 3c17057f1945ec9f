/**
 * `assetstream tail` against the real stack: it prints exactly what `derive` prints for the input
 * the processor consumed; its filters, `--from <timestamp>`, `--follow` until SIGTERM; it reads
 * committed transactions only and still stops at the end (past the transaction markers); an
 * undecodable record is skipped with exit 1. Every run's throwaway consumer group is gone after.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateMessages, type KeyedMessage } from '../../src/bench/workload.js'
import { Registry } from '../../src/codec/registry.js'
import { EventEncoder } from '../../src/codec/event-codec.js'
import { formatCompact } from '../../src/commands/tail.js'
import { toJsonForm, type JsonFormEvent } from '../../src/derive/json-form.js'
import type { PrefectEvent } from '../../src/derive/types.js'
import { Partitioners } from '../../src/kafka/kafkajs.js'
import { processValue } from '../../src/pipeline/process.js'
import { MemoryLineageStore } from '../../src/state/memory-lineage-store.js'
import { cli, CliProcess, groupsStartingWith, lines, runEnv, waitForLog } from './cli.js'
import { deriveAll } from './expected.js'
import {
  consumeUntil,
  createTopic,
  deleteRunTopics,
  kafka,
  names,
  ProcessorProcess,
  produce,
  REGISTRY_URL,
  waitFor,
  withAdmin,
  type Names,
} from './support.js'

const runs: Names[] = []
const n = names('tail')
runs.push(n)
const env = runEnv(n)
let processor: ProcessorProcess | undefined

// One workload in three slices, consumed by one processor one after the other: what each slice
// adds is the difference of `derive` over the prefixes (lineage crosses the slices).
const workload = generateMessages({ messages: 700, seed: 41 })
const cut1 = 350
const cut2 = 550
const texts = (events: readonly JsonFormEvent[]) => events.map((e) => JSON.stringify(e))
const upTo = (k: number) => deriveAll(workload.slice(0, k).map((m) => m.value)).events
const first = upTo(cut1)
const second = upTo(cut2).slice(first.length)
const third = upTo(workload.length).slice(first.length + second.length)

const toInput = (ms: readonly KeyedMessage[]) =>
  ms.map((m) => ({ key: m.key, value: JSON.stringify(m.value) }))
const sorted = (xs: readonly string[]) => [...xs].sort()

async function publishedAll(count: number): Promise<void> {
  await consumeUntil(n.eventTopics, (got) => got.length >= count, 120_000)
}

beforeAll(async () => {
  expect(first.length).toBeGreaterThan(100)
  expect(second.length).toBeGreaterThan(20)
  expect(third.length).toBeGreaterThan(20)
  await createTopic(n.input, 2)
  await produce(n.input, toInput(workload.slice(0, cut1)))
  processor = new ProcessorProcess(n)
  await processor.started()
  await publishedAll(first.length)
})

afterAll(async () => {
  try {
    if (processor !== undefined) expect(await processor.stop()).toBe(0)
  } finally {
    for (const r of runs) await deleteRunTopics(r.run)
    // The processor's group (the tail groups are checked gone by the tests).
    const groups = await groupsStartingWith(n.run)
    if (groups.length > 0) await withAdmin((admin) => admin.deleteGroups(groups))
  }
})

describe('assetstream tail', () => {
  it('prints exactly what derive prints for the same input, stops at the end, exit 0', async () => {
    const r = await cli(['tail', '--from', 'beginning'], env)
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(sorted(lines(r.stdout))).toEqual(sorted(texts(first)))
    // The throwaway group was deleted.
    expect(await groupsStartingWith(`${n.group}.tail.`)).toEqual([])
  })

  it('filters by event type (repeatable and comma lists)', async () => {
    const wanted = new Set([
      'prefect.asset.referenced',
      'prefect.artifact.created',
      'prefect.artifact.updated',
    ])
    const expected = texts(first.filter((e) => wanted.has(e.event)))
    expect(expected.length).toBeGreaterThan(0)
    expect(expected.length).toBeLessThan(first.length)
    const r = await cli(
      [
        'tail',
        '--event',
        'prefect.asset.referenced',
        '--event',
        'prefect.artifact.created,prefect.artifact.updated',
      ],
      env,
    )
    expect(r.status).toBe(0)
    expect(sorted(lines(r.stdout))).toEqual(sorted(expected))
  })

  it('filters by resource id prefix (--resource and --prefix-filter, any of them)', async () => {
    const ids = first.map((e) => e.resource['prefect.resource.id'] ?? '')
    const schemes = [...new Set(ids.map((id) => id.slice(0, id.indexOf('://') + 3)))].filter(
      (s) => s.length > 3,
    )
    expect(schemes.length).toBeGreaterThan(1)
    const [a, b] = schemes as [string, string]
    const one = texts(first.filter((e) => e.resource['prefect.resource.id']?.startsWith(a)))
    const both = texts(
      first.filter((e) => [a, b].some((p) => e.resource['prefect.resource.id']?.startsWith(p))),
    )
    expect(one.length).toBeLessThan(both.length)
    expect(both.length).toBeLessThan(first.length)
    const r1 = await cli(['tail', '--resource', a], env)
    expect(r1.status).toBe(0)
    expect(sorted(lines(r1.stdout))).toEqual(sorted(one))
    const r2 = await cli(['tail', '--resource', a, '--prefix-filter', b], env)
    expect(r2.status).toBe(0)
    expect(sorted(lines(r2.stdout))).toEqual(sorted(both))
  })

  it('--format compact --max N: N compact lines of expected events', async () => {
    const r = await cli(['tail', '--format', 'compact', '--max', '5'], env)
    expect(r.status).toBe(0)
    const got = lines(r.stdout)
    expect(got).toHaveLength(5)
    const compact = new Set(first.map(formatCompact))
    for (const l of got) expect(compact.has(l)).toBe(true)
    expect(await groupsStartingWith(`${n.group}.tail.`)).toEqual([])
  })

  it('--from end without --follow prints nothing, exit 0', async () => {
    const r = await cli(['tail', '--from', 'end'], env)
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('')
  })

  it('--from <timestamp> skips the records published before it', async () => {
    await sleep(1_000)
    const at = new Date().toISOString()
    await sleep(1_000)
    await produce(n.input, toInput(workload.slice(cut1, cut2)))
    await publishedAll(first.length + second.length)
    const r = await cli(['tail', '--from', at], env)
    expect(r.status).toBe(0)
    expect(sorted(lines(r.stdout))).toEqual(sorted(texts(second)))
    // The same instant with an offset, and an instant after everything: nothing.
    const later = await cli(['tail', '--from', '2999-01-01T02:00:00+02:00'], env)
    expect(later.status).toBe(0)
    expect(later.stdout).toBe('')
  })

  it('--follow prints new events as they come until SIGTERM, exit 0', async () => {
    const p = new CliProcess(['tail', '--follow', '--from', 'end', '--log-level', 'info'], env)
    try {
      await waitForLog(p, '"tailing"')
      await produce(n.input, toInput(workload.slice(cut2)))
      await publishedAll(first.length + second.length + third.length)
      await sleep(500)
      const expected = texts(third)
      await waitFor(
        'tail to print the new events',
        () => (p.lines.length >= expected.length ? true : undefined),
        60_000,
      )
      p.child.kill('SIGTERM')
      const r = await p.exited
      expect(r.status).toBe(0)
      expect(sorted(lines(r.stdout))).toEqual(sorted(expected))
      expect(r.stderr).toContain('"tail finished"')
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL')
    }
    expect(await groupsStartingWith(`${n.group}.tail.`)).toEqual([])
  })
})

/** Events of a few messages, as the processor would derive them. */
function someEvents(seed: number, count: number): PrefectEvent[] {
  const store = new MemoryLineageStore()
  return generateMessages({ messages: count, seed }).flatMap((m) => {
    const o = processValue(m.value, store, { runContext: true })
    return o.ok ? [...o.events] : []
  })
}

describe('assetstream tail on transactions and bad records', () => {
  it('shows committed transactions only and stops past the transaction markers', async () => {
    const t = names('tail-tx')
    runs.push(t)
    const events = someEvents(43, 120)
    expect(events.length).toBeGreaterThan(30)
    const topicOf = (e: PrefectEvent) => `${t.prefix}${e.event}`
    for (const topic of t.eventTopics) await createTopic(topic, 2)
    const schemas = await new Registry(REGISTRY_URL).registerEventSchemas((e) => `${t.prefix}${e}`)
    const encoder = new EventEncoder(schemas)
    const third = Math.floor(events.length / 3)
    const slices = [events.slice(0, third), events.slice(third, 2 * third), events.slice(2 * third)]
    const producer = kafka.producer({
      transactionalId: `${t.run}-tx`,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    })
    await producer.connect()
    try {
      for (const [i, slice] of slices.entries()) {
        const tx = await producer.transaction()
        for (const e of slice)
          await tx.send({
            topic: topicOf(e),
            messages: [
              { key: e.resource['prefect.resource.id'] ?? null, value: encoder.encode(e) },
            ],
          })
        if (i === 1) await tx.abort()
        else await tx.commit()
      }
    } finally {
      await producer.disconnect()
    }
    const expected = [...(slices[0] ?? []), ...(slices[2] ?? [])].map((e) =>
      JSON.stringify(toJsonForm(e)),
    )
    const r = await cli(['tail'], runEnv(t), 60_000)
    expect(r.status).toBe(0)
    expect(sorted(lines(r.stdout))).toEqual(sorted(expected))
    expect(await groupsStartingWith(`${t.group}.tail.`)).toEqual([])
  })

  it('skips a record that is not an event (warning on stderr), exit 1', async () => {
    const b = names('tail-bad')
    runs.push(b)
    const [e] = someEvents(44, 40).filter((x) => x.event === 'prefect.asset.referenced')
    if (e === undefined) throw new Error('the workload has no asset.referenced event')
    const topic = `${b.prefix}prefect.asset.referenced`
    await createTopic(topic, 1)
    const schemas = await new Registry(REGISTRY_URL).registerEventSchemas((x) => `${b.prefix}${x}`)
    await produce(topic, [
      { key: 'k', value: 'not in the wire format' },
      { key: 'k', value: new EventEncoder(schemas).encode(e) },
    ])
    const r = await cli(['tail', '--event', 'prefect.asset.referenced'], runEnv(b))
    expect(r.status).toBe(1)
    expect(lines(r.stdout)).toEqual([JSON.stringify(toJsonForm(e))])
    expect(r.stderr).toContain('record could not be decoded, skipped')
    expect(r.stderr).toContain('"offset":"0"')
  })

  it('fails with exit 2 when no event topic exists under the prefix', async () => {
    const none = names('tail-none')
    const r = await cli(['tail'], runEnv(none))
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('[invalid_config] no event topic to read')
    expect(r.stderr).toContain(`${none.prefix}prefect.asset.referenced`)
  })
})
