/**
 * The direct Avro writer of `EventEncoder` against avsc: for every event, the bytes must be
 * exactly `frame(id, type.toBuffer(eventToAvro(e)))`, what the encoder wrote before it skipped
 * avsc. Over the conformance events, generated lifecycle messages, and generated events with the
 * strings avsc treats apart (non-ASCII, astral, lone surrogates, around 64 bytes).
 */
import avsc, { type Schema } from 'avsc'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { loadEventSchemas } from '../../../src/codec/avro-schemas.js'
import { eventToAvro } from '../../../src/codec/event-avro.js'
import { EventEncoder, type RegisteredSchema } from '../../../src/codec/event-codec.js'
import { frame } from '../../../src/codec/wire.js'
import {
  EVENT_NAMES,
  type EventName,
  type JsonObject,
  type Labels,
  type PrefectEvent,
} from '../../../src/derive/types.js'
import { processValue } from '../../../src/pipeline/process.js'
import { MemoryLineageStore } from '../../../src/state/memory-lineage-store.js'
import { lifecycleArbitrary } from '../../helpers/arbitraries.js'
import { loadCases } from '../../helpers/conformance.js'

const registered = new Map<EventName, RegisteredSchema>(
  [...loadEventSchemas()].map(([e, s], i) => [e, { ...s, id: 300 + i }]),
)

/** What avsc writes: the reference. */
function avscBytes(e: PrefectEvent): Buffer {
  const s = registered.get(e.event) as RegisteredSchema
  return frame(s.id, s.type.toBuffer(eventToAvro(e)))
}

/** Encodes with a long-lived encoder (kept related bytes and all) and compares with avsc. */
function expectSameBytes(encoder: EventEncoder, events: readonly PrefectEvent[]): void {
  for (const e of events) {
    const direct = encoder.encode(e)
    const reference = avscBytes(e)
    if (!direct.equals(reference)) {
      // The event in the failure message, and hex to compare.
      expect({ event: e, bytes: direct.toString('hex') }).toEqual({
        event: e,
        bytes: reference.toString('hex'),
      })
    }
  }
}

function derived(values: readonly unknown[], runContext: boolean): PrefectEvent[] {
  const store = new MemoryLineageStore()
  const out: PrefectEvent[] = []
  for (const v of values) {
    const o = processValue(v, store, { runContext })
    if (o.ok) out.push(...o.events)
  }
  return out
}

function conformanceEvents(runContext: boolean): PrefectEvent[] {
  const out: PrefectEvent[] = []
  for (const c of loadCases()) {
    const values: unknown[] = []
    for (const line of c.lines) {
      try {
        values.push(JSON.parse(line))
      } catch {
        // blank or not JSON: rejected before derivation
      }
    }
    out.push(...derived(values, runContext))
  }
  return out
}

describe('the direct Avro writer', () => {
  it('is used for every event schema of ours', () => {
    const encoder = new EventEncoder(registered)
    for (const e of EVENT_NAMES) expect(encoder.isDirect(e)).toBe(true)
  })

  it('writes what avsc writes, for every conformance event', () => {
    const events = [...conformanceEvents(true), ...conformanceEvents(false)]
    expect(new Set(events.map((e) => e.event))).toEqual(new Set(EVENT_NAMES))
    expectSameBytes(new EventEncoder(registered), events)
    // and again, now with the run context's bytes kept from the first pass
    const encoder = new EventEncoder(registered)
    expectSameBytes(encoder, events)
    expectSameBytes(encoder, events)
  })

  it('leaves a schema that is not exactly ours to avsc', () => {
    const s = registered.get('prefect.asset.referenced') as RegisteredSchema
    type Field = { name: string; type: unknown }
    const changed = JSON.parse(s.text) as { fields: Field[] }
    changed.fields = changed.fields.filter((f) => f.name !== 'follows')
    const type = avsc.Type.forSchema(changed as unknown as Schema)
    const encoder = new EventEncoder(
      new Map([['prefect.asset.referenced', { text: JSON.stringify(changed), type, id: 9 }]]),
    )
    expect(encoder.isDirect('prefect.asset.referenced')).toBe(false)
    const e = conformanceEvents(true).find((x) => x.event === 'prefect.asset.referenced')
    if (e === undefined) throw new Error('no asset.referenced event in the conformance cases')
    expect(encoder.encode(e).equals(frame(9, type.toBuffer(eventToAvro(e))))).toBe(true)
  })

  it('throws what avsc throws for a value the schema cannot carry', () => {
    const e: PrefectEvent = {
      occurred: 1.5,
      event: 'prefect.asset.referenced',
      resource: { 'prefect.resource.id': 's3://a' },
      related: [],
      payload: {},
      id: '01a21c72-917b-7228-bf61-6e0d6b7b974a',
    }
    const encoder = new EventEncoder(registered)
    expect(() => encoder.encode(e)).toThrow()
    let avscError: unknown
    try {
      avscBytes(e)
    } catch (err) {
      avscError = err
    }
    expect(() => encoder.encode(e)).toThrow((avscError as Error).message)
    const badLabel = {
      ...e,
      occurred: 0,
      related: [Object.freeze({ 'prefect.resource.id': 'x', 'prefect.resource.role': 7 })],
    } as unknown as PrefectEvent
    expect(() => avscBytes(badLabel)).toThrow()
    expect(() => encoder.encode(badLabel)).toThrow()
  })
})

// ---------------------------------------------------------------------------------------------
// Generated events, written directly.

/** Any UTF-16 units: lone surrogates included. */
const units = (maxLength: number) =>
  fc
    .array(fc.integer({ min: 0, max: 0xffff }), { maxLength })
    .map((codes) => String.fromCharCode(...codes))
const near64 = fc
  .tuple(fc.integer({ min: 55, max: 70 }), fc.constantFrom('a', 'é', '€', '😀', '\ud800', '\udc00'))
  .map(([n, c]) => 'a'.repeat(n) + c)
const str = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  units(24),
  units(120),
  near64,
  fc.string({ minLength: 60, maxLength: 9000 }),
)
const labelKey = fc.oneof(
  fc.constantFrom('prefect.work-pool.type', 'a', '1', '10', 'x.y', 'constructor'),
  str,
)
/** Resource labels: id, then optional role, name and further labels. */
const labels = fc
  .tuple(str, fc.option(str), fc.option(str), fc.dictionary(labelKey, str, { maxKeys: 3 }))
  .map(([id, role, name, extra]) => {
    const l: Record<string, string> = { 'prefect.resource.id': id }
    if (role !== null) l['prefect.resource.role'] = role
    if (name !== null) l['prefect.resource.name'] = name
    for (const k of Object.keys(extra)) {
      if (!Object.hasOwn(l, k)) l[k] = extra[k] as string
    }
    return l
  })
const related = fc
  .tuple(str, str, fc.option(str), fc.dictionary(labelKey, str, { maxKeys: 2 }))
  .map(([id, role, name, extra]) => {
    const l: Record<string, string> = {
      'prefect.resource.id': id,
      'prefect.resource.role': role,
    }
    if (name !== null) l['prefect.resource.name'] = name
    for (const k of Object.keys(extra)) if (!Object.hasOwn(l, k)) l[k] = extra[k] as string
    return l
  })
const assetResource = fc
  .record(
    {
      id: str,
      name: str,
      description: str,
      url: str,
      owners: str,
    },
    { requiredKeys: ['id'] },
  )
  .map((r) => {
    const l: Record<string, string> = { 'prefect.resource.id': r.id }
    if (r.name !== undefined) l['prefect.resource.name'] = r.name
    if (r.description !== undefined) l['prefect.asset.description'] = r.description
    if (r.url !== undefined) l['prefect.asset.url'] = r.url
    if (r.owners !== undefined) l['prefect.asset.owners'] = r.owners
    return l
  })
const occurred = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 1073741823, 1073741824, -1073741824, -1073741825, 2 ** 31, -(2 ** 31)),
  fc.integer({ min: -9007199254740990, max: 9007199254740990 }),
  fc.integer({ min: 1_600_000_000_000_000, max: 2_000_000_000_000_000 }),
)
const json = fc.jsonValue({ maxDepth: 2 })
const payloadFor = (event: EventName): fc.Arbitrary<JsonObject> => {
  switch (event) {
    case 'prefect.artifact.created':
      return fc.record(
        { key: fc.option(str), type: fc.option(str), description: fc.option(str) },
        { requiredKeys: [] },
      )
    case 'prefect.artifact.updated':
      return fc.dictionary(
        fc.constantFrom('data', 'description', 'type', 'metadata_'),
        json,
      ) as fc.Arbitrary<JsonObject>
    case 'prefect.asset.referenced':
      return fc.constant({})
    case 'prefect.asset.materialization.succeeded':
    case 'prefect.asset.materialization.failed':
      return fc.dictionary(str, json, { maxKeys: 3 }) as fc.Arbitrary<JsonObject>
  }
}
const event: fc.Arbitrary<PrefectEvent> = fc.constantFrom(...EVENT_NAMES).chain((name) =>
  fc.record({
    occurred,
    event: fc.constant(name),
    resource: name.startsWith('prefect.asset.') ? assetResource : labels,
    related: fc.array(related, { maxLength: 4 }),
    payload: payloadFor(name),
    id: fc.oneof(fc.uuid(), str),
  }),
)

describe('the direct Avro writer on generated events', () => {
  it('writes what avsc writes', () => {
    const encoder = new EventEncoder(registered)
    fc.assert(
      fc.property(event, (e) => expectSameBytes(encoder, [e])),
      { numRuns: 1000 },
    )
  })

  it('writes what avsc writes when events share frozen related resources', () => {
    const encoder = new EventEncoder(registered)
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            related,
            related.map((l) => Object.freeze(l)),
          ),
          { maxLength: 12 },
        ),
        fc.array(event, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (shared, events, picks) => {
          // Each event gets its own related list, then a selection of the shared ones.
          const withShared = events.map((e) => ({
            ...e,
            related: [
              ...e.related,
              ...shared.filter((_, i) => picks.length === 0 || picks[i % picks.length] !== 0),
            ],
          }))
          expectSameBytes(encoder, withShared)
          expectSameBytes(encoder, withShared.slice().reverse())
        },
      ),
      { numRuns: 500 },
    )
  })

  it('writes what avsc writes past the kept entries and bytes (many tags, a huge label)', () => {
    const encoder = new EventEncoder(registered)
    const frozen = (id: string): Labels =>
      Object.freeze({ 'prefect.resource.id': id, 'prefect.resource.role': 'tag' })
    const many = Array.from({ length: 150 }, (_, i) => frozen(`prefect.tag.t${i}`))
    const huge = frozen(`prefect.tag.${'x'.repeat(20_000)}`)
    const big = Array.from({ length: 5 }, (_, i) => frozen(`prefect.tag.${i}${'y'.repeat(5000)}`))
    const e = (rel: Labels[], n: number): PrefectEvent => ({
      occurred: 1_795_737_600_000_000 + n,
      event: 'prefect.asset.referenced',
      resource: { 'prefect.resource.id': `s3://a/${n}` },
      related: rel,
      payload: {},
      id: '01a21c72-917b-7228-bf61-6e0d6b7b974a',
    })
    const events = [
      e(many, 0),
      e(many, 1),
      e([huge, ...many.slice(0, 3)], 2),
      e([huge, ...many.slice(0, 3)], 3),
      e(big, 4),
      e(big, 5),
      e([...big].reverse(), 6),
      e(many.slice(100), 7),
      e(many.slice(0, 70), 8),
    ]
    expectSameBytes(encoder, events)
    expectSameBytes(encoder, events)
  })
})

// ---------------------------------------------------------------------------------------------
// Generated lifecycle messages, through the whole derivation.

const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), units(10), near64)
const timestamp = fc
  .date({
    min: new Date('1700-01-01T00:00:00Z'),
    max: new Date('2200-01-01T00:00:00Z'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString())
const lifecycle = lifecycleArbitrary({ text, timestamp })

describe('the direct Avro writer on generated lifecycle messages', () => {
  it('writes what avsc writes for every derived event', () => {
    const encoder = new EventEncoder(registered)
    let events = 0
    fc.assert(
      fc.property(
        fc.array(lifecycle, { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        (messages, runContext) => {
          const derivedEvents = derived(
            messages.map((m) => JSON.parse(JSON.stringify(m)) as unknown),
            runContext,
          )
          expectSameBytes(encoder, derivedEvents)
          events += derivedEvents.length
        },
      ),
      { numRuns: 300 },
    )
    expect(events).toBeGreaterThan(100)
  })
})
