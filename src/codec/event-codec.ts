/** Avro encoding of events in the Confluent wire format, and decoding back to events. */
import type { Resolver, Type } from 'avsc'
import type { EventName, Labels, PrefectEvent } from '../derive/types.js'
import type { AvroSchema } from './avro-schemas.js'
import {
  AvroWriter,
  directSchema,
  eventFromAvro,
  eventToAvro,
  NotWritable,
  writeEventAvro,
  writeRelated,
} from './event-avro.js'
import { MAGIC_BYTE, unframe } from './wire.js'

export interface RegisteredSchema extends AvroSchema {
  /** The id the schema registry gave this schema. */
  readonly id: number
}

interface Target {
  readonly schema: RegisteredSchema
  /** The 5-byte wire-format header: magic byte, schema id. */
  readonly header: Buffer
  /** Whether `writeEventAvro` writes this schema (else avsc encodes). */
  readonly direct: boolean
}

/**
 * Encodes events with the registered schema of their type.
 *
 * For our own schemas (`directSchema`), an event is written straight to Avro binary by
 * `writeEventAvro`, byte for byte what avsc writes for `eventToAvro(e)` (test/unit/codec/
 * fast-encoder.test.ts checks it); any other schema, or a value the schema cannot carry, goes
 * through avsc. A related resource that is frozen (the run context, shared by every event of a
 * message) is immutable, so its bytes are kept after its first encoding and copied thereafter.
 */
export class EventEncoder {
  /** Where records are written, after the 5-byte header, before one copy out. */
  readonly #writer = new AvroWriter()
  readonly #targets = new Map<EventName, Target>()
  /** The bytes of frozen related resources, kept from the event that first wrote them. */
  readonly #relatedBytes = new WeakMap<Labels, Uint8Array>()
  /** Frozen related resources written by the event being encoded: labels, start, end. */
  readonly #fresh: (Labels | number)[] = []

  constructor(schemas: ReadonlyMap<EventName, RegisteredSchema>) {
    for (const [event, schema] of schemas) {
      const header = Buffer.allocUnsafe(5)
      header[0] = MAGIC_BYTE
      header.writeInt32BE(schema.id, 1)
      const direct = JSON.stringify(schema.type.schema()) === directSchema(event)
      this.#targets.set(event, { schema, header, direct })
    }
  }

  /** Whether events of this type skip avsc (for the tests). */
  isDirect(event: EventName): boolean {
    return this.#targets.get(event)?.direct === true
  }

  encode(e: PrefectEvent): Buffer {
    const t = this.#targets.get(e.event)
    if (t === undefined) throw new Error(`no schema registered for ${e.event}`)
    if (t.direct) {
      try {
        return this.#encodeDirect(e, t.header)
      } catch (err) {
        this.#fresh.length = 0
        if (!(err instanceof NotWritable)) throw err
        // avsc says why the record does not fit its schema.
      }
    }
    return this.#encodeAvsc(e, t)
  }

  #encodeDirect(e: PrefectEvent, header: Buffer): Buffer {
    const w = this.#writer
    w.pos = 0
    w.bytes(header)
    writeEventAvro(w, e, this.#writeRelated)
    const end = w.pos
    const out = Buffer.allocUnsafe(end)
    out.set(w.buf.subarray(0, end))
    if (this.#fresh.length > 0) this.#keepFresh()
    return out
  }

  /** Keeps the bytes of the frozen related resources just written, in a copy of their own. */
  #keepFresh(): void {
    const fresh = this.#fresh
    const from = fresh[1] as number
    const kept = new Uint8Array(this.#writer.buf.subarray(from, fresh[fresh.length - 1] as number))
    for (let i = 0; i < fresh.length; i += 3) {
      this.#relatedBytes.set(
        fresh[i] as Labels,
        kept.subarray((fresh[i + 1] as number) - from, (fresh[i + 2] as number) - from),
      )
    }
    fresh.length = 0
  }

  readonly #writeRelated = (w: AvroWriter, labels: Labels): void => {
    if (!Object.isFrozen(labels)) {
      writeRelated(w, labels)
      return
    }
    const kept = this.#relatedBytes.get(labels)
    if (kept !== undefined) {
      w.bytes(kept)
      return
    }
    const start = w.pos
    writeRelated(w, labels)
    this.#fresh.push(labels, start, w.pos)
  }

  #encodeAvsc(e: PrefectEvent, t: Target): Buffer {
    const w = this.#writer
    const rec = eventToAvro(e)
    // `encode` returns the end position, or minus the bytes missing when the buffer is too small.
    let end = t.schema.type.encode(rec, w.buf, 5)
    if (end < 0) {
      w.pos = 0
      w.ensure(2 * (w.buf.length - end))
      end = t.schema.type.encode(rec, w.buf, 5)
    }
    t.header.copy(w.buf, 0)
    const out = Buffer.allocUnsafe(end)
    w.buf.copy(out, 0, 0, end)
    return out
  }
}

/**
 * Decodes a framed event written with `writer` into the reader schema of its type (our `.avsc`),
 * through an Avro schema resolution when the two differ.
 */
export function decodeEvent(bytes: Buffer, writer: Type, reader: Type): PrefectEvent {
  const framed = unframe(bytes)
  if (framed === undefined) throw new Error('not in the Confluent wire format (magic byte 0)')
  const resolver: Resolver | undefined =
    writer === reader ? undefined : reader.createResolver(writer)
  return eventFromAvro(reader.fromBuffer(framed.payload, resolver) as Record<string, unknown>)
}
