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

/** How many frozen related resources, and how many of their bytes, the encoder keeps. */
const KEEP_ENTRIES = 64
const KEEP_BYTES = 16 * 1024

/**
 * Encodes events with the registered schema of their type.
 *
 * For our own schemas (`directSchema`), an event is written straight to Avro binary by
 * `writeEventAvro`, byte for byte what avsc writes for `eventToAvro(e)` (test/unit/codec/
 * fast-encoder.test.ts checks it); any other schema, or a value the schema cannot carry, goes
 * through avsc.
 *
 * A frozen related resource cannot change, so the bytes of the last few are kept, by identity:
 * the run context, shared by every event of a message, is encoded once per message and copied
 * into the message's other events (a run of consecutive entries in one copy).
 */
export class EventEncoder {
  /** Where records are written, after the 5-byte header, before one copy out. */
  readonly #writer = new AvroWriter()
  readonly #targets = new Map<EventName, Target>()
  /** Kept related resources: the objects, and where their bytes are in `#kept`. */
  readonly #keys: Labels[] = []
  readonly #starts: number[] = []
  readonly #ends: number[] = []
  readonly #kept = Buffer.allocUnsafe(KEEP_BYTES)
  #keptEnd = 0
  /** Where the next lookup starts: entries come back in the order they were kept. */
  #cursor = 0

  constructor(schemas: ReadonlyMap<EventName, RegisteredSchema>) {
    for (const [event, schema] of schemas) {
      const header = Buffer.allocUnsafe(5)
      header[0] = MAGIC_BYTE
      header.writeInt32BE(schema.id, 1)
      const direct = JSON.stringify(schema.type.schema()) === directSchema(event)
      this.#targets.set(event, { schema, header, direct })
    }
  }

  /** Whether events of this type are written without avsc (for the tests). */
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
    writeEventAvro(w, e, this.#writeRelatedList)
    const out = Buffer.allocUnsafe(w.pos)
    w.buf.copy(out, 0, 0, w.pos)
    return out
  }

  readonly #writeRelatedList = (w: AvroWriter, related: readonly Labels[]): void => {
    if (related.length > 0) {
      w.long(related.length)
      const kept = this.#kept
      // A run of kept bytes not yet copied.
      let from = 0
      let to = 0
      for (const labels of related) {
        // The next kept resource, the usual case (kept means frozen); else a frozen one is
        // looked up, and an unfrozen one written.
        let k = -1
        let frozen = true
        if (this.#keys[this.#cursor] === labels) k = this.#cursor++
        else if ((frozen = Object.isFrozen(labels))) k = this.#find(labels)
        if (k >= 0) {
          const start = this.#starts[k] as number
          if (start !== to) {
            if (to > from) w.bytes(kept, from, to)
            from = start
          }
          to = this.#ends[k] as number
          continue
        }
        if (to > from) w.bytes(kept, from, to)
        from = to = 0
        const start = w.pos
        writeRelated(w, labels)
        if (frozen) this.#keep(labels, w.buf, start, w.pos)
      }
      if (to > from) w.bytes(kept, from, to)
    }
    w.long(0)
  }

  /** The index of a kept related resource, or -1. */
  #find(labels: Labels): number {
    const keys = this.#keys
    for (let k = 0; k < keys.length; k++) {
      if (keys[k] === labels) {
        this.#cursor = k + 1
        return k
      }
    }
    return -1
  }

  /** Keeps the bytes of a frozen related resource, forgetting all kept ones when full. */
  #keep(labels: Labels, buf: Buffer, start: number, end: number): void {
    const n = end - start
    if (n > KEEP_BYTES) return
    if (this.#keys.length === KEEP_ENTRIES || this.#keptEnd + n > KEEP_BYTES) {
      this.#keys.length = 0
      this.#starts.length = 0
      this.#ends.length = 0
      this.#keptEnd = 0
    }
    buf.copy(this.#kept, this.#keptEnd, start, end)
    this.#keys.push(labels)
    this.#starts.push(this.#keptEnd)
    this.#keptEnd += n
    this.#ends.push(this.#keptEnd)
    this.#cursor = this.#keys.length
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
