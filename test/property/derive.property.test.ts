/** Invariants over generated messages: never throws, events fit their .avsc, deterministic. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { loadEventSchemas } from '../../src/codec/avro-schemas.js'
import { eventToAvro } from '../../src/codec/event-avro.js'
import { decodeEvent, EventEncoder, type RegisteredSchema } from '../../src/codec/event-codec.js'
import { toJsonForm } from '../../src/derive/json-form.js'
import type { EventName } from '../../src/derive/types.js'
import { processValue } from '../../src/pipeline/process.js'
import { MemoryLineageStore } from '../../src/state/memory-lineage-store.js'
import { lifecycleArbitrary } from '../helpers/arbitraries.js'

const schemas = new Map<EventName, RegisteredSchema>(
  [...loadEventSchemas()].map(([e, s], i) => [e, { ...s, id: i + 1 }]),
)
const encoder = new EventEncoder(schemas)

const text = fc.string({ unit: 'grapheme', maxLength: 12 })
const timestamp = fc
  .date({
    min: new Date('2000-01-01T00:00:00Z'),
    max: new Date('2100-01-01T00:00:00Z'),
    noInvalidDate: true,
  })
  .chain((d) =>
    fc
      .integer({ min: 0, max: 999 })
      .map((us) => d.toISOString().replace('Z', `${String(us).padStart(3, '0')}Z`)),
  )
const lifecycle = lifecycleArbitrary({ text, timestamp })

/** Runs a sequence through one processor; returns its output as JSON lines. */
function runAll(messages: unknown[], runContext = true): string[] {
  const store = new MemoryLineageStore()
  const out: string[] = []
  for (const m of messages) {
    const o = processValue(JSON.parse(JSON.stringify(m)), store, { runContext })
    out.push(
      o.ok
        ? o.events.map((e) => JSON.stringify(toJsonForm(e))).join('\n')
        : `rejected ${o.rejection.code} ${o.rejection.path}`,
    )
  }
  return out
}

describe('derivation properties', () => {
  it('never throws on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const o = processValue(v, new MemoryLineageStore(), { runContext: true })
        expect(o.ok ? true : o.rejection.code).toBeTruthy()
      }),
      { numRuns: 300 },
    )
  })

  it('never throws on generated lifecycle messages, and accepts a fair share of them', () => {
    let accepted = 0
    fc.assert(
      fc.property(fc.array(lifecycle, { minLength: 1, maxLength: 12 }), (messages) => {
        const out = runAll(messages)
        accepted += out.filter((l) => !l.startsWith('rejected')).length
      }),
      { numRuns: 200 },
    )
    expect(accepted).toBeGreaterThan(200) // the generator is not only producing rejections
  })

  it('encodes every event to a record valid for its .avsc that maps back to the same JSON form', () => {
    let events = 0
    fc.assert(
      fc.property(fc.array(lifecycle, { minLength: 1, maxLength: 12 }), (messages) => {
        const store = new MemoryLineageStore()
        for (const m of messages) {
          const o = processValue(m, store, { runContext: true })
          if (!o.ok) continue
          for (const e of o.events) {
            const s = schemas.get(e.event) as RegisteredSchema
            expect(s.type.isValid(eventToAvro(e))).toBe(true)
            const back = decodeEvent(encoder.encode(e), s.type, s.type)
            expect(JSON.stringify(toJsonForm(back))).toBe(JSON.stringify(toJsonForm(e)))
            events++
          }
        }
      }),
      { numRuns: 200 },
    )
    expect(events).toBeGreaterThan(50)
  })

  it('is deterministic: the same input twice gives identical output, ids included', () => {
    fc.assert(
      fc.property(
        fc.array(lifecycle, { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        (messages, runContext) => {
          expect(runAll(messages, runContext)).toEqual(runAll(messages, runContext))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('gives every event of a message a distinct id', () => {
    fc.assert(
      fc.property(fc.array(lifecycle, { minLength: 1, maxLength: 12 }), (messages) => {
        const store = new MemoryLineageStore()
        for (const m of messages) {
          const o = processValue(m, store, { runContext: false })
          if (o.ok) expect(new Set(o.events.map((e) => e.id)).size).toBe(o.events.length)
        }
      }),
      { numRuns: 100 },
    )
  })
})
