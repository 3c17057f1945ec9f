import { readdirSync } from 'node:fs'
import avsc, { type Schema } from 'avsc'
import { describe, expect, it } from 'vitest'
import {
  AVRO_DIR,
  LIFECYCLE_SCHEMA_FILE,
  loadEventSchemas,
  loadSchema,
} from '../../../src/codec/avro-schemas.js'
import { eventToAvro } from '../../../src/codec/event-avro.js'
import { decodeEvent, EventEncoder, type RegisteredSchema } from '../../../src/codec/event-codec.js'
import { decodeLifecycle, type WriterSchemas } from '../../../src/codec/lifecycle-decode.js'
import { lifecycleToAvro } from '../../../src/codec/lifecycle-encode.js'
import { frame, unframe } from '../../../src/codec/wire.js'
import { toJsonForm } from '../../../src/derive/json-form.js'
import { EVENT_NAMES, type EventName, type PrefectEvent } from '../../../src/derive/types.js'
import { processValue } from '../../../src/pipeline/process.js'
import { MemoryLineageStore } from '../../../src/state/memory-lineage-store.js'
import { loadCases } from '../../helpers/conformance.js'

const schemas = loadEventSchemas()
const registered = new Map<EventName, RegisteredSchema>(
  [...schemas].map(([e, s], i) => [e, { ...s, id: 100 + i }]),
)
const encoder = new EventEncoder(registered)

/** Every event of every conformance case, derived in-process. */
function conformanceEvents(runContext: boolean): PrefectEvent[] {
  const out: PrefectEvent[] = []
  for (const c of loadCases()) {
    const store = new MemoryLineageStore()
    for (const line of c.lines) {
      if (line.trim() === '') continue
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch {
        continue
      }
      const o = processValue(value, store, { runContext })
      if (o.ok) out.push(...o.events)
    }
  }
  return out
}

describe('the Avro contract files', () => {
  it('has one schema per event type plus the lifecycle message, nothing else', () => {
    expect(readdirSync(AVRO_DIR).sort()).toEqual(
      [...EVENT_NAMES.map((e) => `${e}.avsc`), LIFECYCLE_SCHEMA_FILE].sort(),
    )
  })
})

describe('events ↔ Avro (SPEC §3 invariant)', () => {
  const events = [...conformanceEvents(true), ...conformanceEvents(false)]

  it('covers every event type', () => {
    expect(new Set(events.map((e) => e.event))).toEqual(new Set(EVENT_NAMES))
  })

  it('encodes → decodes → maps back to exactly the JSON form, for every conformance event', () => {
    for (const e of events) {
      const bytes = encoder.encode(e)
      const s = registered.get(e.event) as RegisteredSchema
      expect(unframe(bytes)?.schemaId).toBe(s.id)
      const back = decodeEvent(bytes, s.type, s.type)
      expect(JSON.stringify(toJsonForm(back))).toBe(JSON.stringify(toJsonForm(e)))
    }
  })

  it('produces records that validate against their .avsc', () => {
    for (const e of events) {
      const s = schemas.get(e.event)
      const bytes = encoder.encode(e)
      expect(s?.type.isValid(s.type.fromBuffer(unframe(bytes)?.payload as Buffer))).toBe(true)
    }
  })

  it('decodes through a resolver from an older writer schema (no related.labels field)', () => {
    const current = schemas.get('prefect.asset.referenced') as RegisteredSchema
    type Field = { name: string; type: { items?: { fields: Field[] } } }
    const older = JSON.parse(current.text) as { fields: Field[] }
    const items = older.fields.find((f) => f.name === 'related')?.type.items as { fields: Field[] }
    items.fields = items.fields.filter((f) => f.name !== 'labels')
    const writer = avsc.Type.forSchema(older as unknown as Schema)
    const e = events.find(
      (x) =>
        x.event === 'prefect.asset.referenced' &&
        x.related.every((r) => Object.keys(r).length <= 3),
    ) as PrefectEvent
    const rec = eventToAvro(e) as { related: Record<string, unknown>[] }
    const withoutLabels = { ...rec, related: rec.related.map(({ labels: _, ...r }) => r) }
    const back = decodeEvent(frame(7, writer.toBuffer(withoutLabels)), writer, current.type)
    expect(toJsonForm(back)).toEqual(toJsonForm(e))
  })
})

describe('lifecycle messages in Avro (Confluent wire format)', () => {
  const lifecycle = loadSchema(LIFECYCLE_SCHEMA_FILE)
  const registry: WriterSchemas = {
    lifecycleReader: (id) =>
      Promise.resolve(id === 42 ? { type: lifecycle.type, resolver: undefined } : undefined),
  }
  const encode = (msg: Record<string, unknown>): Buffer =>
    frame(42, lifecycle.type.toBuffer(lifecycleToAvro(msg)))

  it('derives the same events from Avro as from JSON, for every conformance case', async () => {
    let compared = 0
    for (const c of loadCases()) {
      const fromJson = new MemoryLineageStore()
      const fromAvro = new MemoryLineageStore()
      for (const line of c.lines) {
        if (line.trim() === '') continue
        let value: Record<string, unknown>
        try {
          value = JSON.parse(line) as Record<string, unknown>
        } catch {
          continue
        }
        let bytes: Buffer
        try {
          bytes = encode(value)
        } catch {
          continue // a message the Avro schema itself cannot carry (wrong types): only JSON can say that
        }
        const decoded = await decodeLifecycle(bytes, registry)
        expect(decoded.ok).toBe(true)
        const a = processValue(decoded.ok ? decoded.value : null, fromAvro, { runContext: true })
        const j = processValue(value, fromJson, { runContext: true })
        expect(a.ok && a.events.map(toJsonForm)).toEqual(j.ok && j.events.map(toJsonForm))
        if (!a.ok && !j.ok) expect(a.rejection.code).toBe(j.rejection.code)
        compared++
      }
    }
    expect(compared).toBeGreaterThanOrEqual(40)
  })

  it('tells JSON from Avro by the first byte', async () => {
    const json = Buffer.from(JSON.stringify({ id: 'x' }))
    expect(await decodeLifecycle(json, registry)).toEqual({ ok: true, value: { id: 'x' } })
    expect(await decodeLifecycle(Buffer.from('\uFEFF{"id":"y"}'), registry)).toEqual({
      ok: true,
      value: { id: 'y' },
    })
  })

  it.each([
    ['not JSON', Buffer.from('{nope')],
    ['an unknown schema id', frame(7, Buffer.from([0]))],
    ['a truncated wire header', Buffer.from([0, 0, 1])],
    ['undecodable Avro', frame(42, Buffer.from([0xff, 0xff, 0xff]))],
  ])('rejects %s as invalid_message', async (_, bytes) => {
    const d = await decodeLifecycle(bytes, registry)
    expect(d.ok).toBe(false)
    expect(!d.ok && d.rejection).toMatchObject({ code: 'invalid_message', path: '$' })
  })
})
