/** Avro encoding of events in the Confluent wire format, and decoding back to events. */
import type { Resolver, Type } from 'avsc'
import type { EventName, PrefectEvent } from '../derive/types.js'
import type { AvroSchema } from './avro-schemas.js'
import { eventFromAvro, eventToAvro } from './event-avro.js'
import { MAGIC_BYTE, unframe } from './wire.js'

export interface RegisteredSchema extends AvroSchema {
  /** The id the schema registry gave this schema. */
  readonly id: number
}

/** Encodes events with the registered schema of their type. */
export class EventEncoder {
  /**
   * Where records are written, after the 5-byte header, before one copy out. Unlike
   * `Type.toBuffer` (a 1 KiB scratch: a larger record is encoded twice) and `frame` (a second
   * copy), a record is encoded once and copied once; it grows when a record does not fit.
   */
  #scratch = Buffer.allocUnsafe(64 * 1024)

  constructor(private readonly schemas: ReadonlyMap<EventName, RegisteredSchema>) {}

  encode(e: PrefectEvent): Buffer {
    const s = this.schemas.get(e.event)
    if (s === undefined) throw new Error(`no schema registered for ${e.event}`)
    const rec = eventToAvro(e)
    // `encode` returns the end position, or minus the bytes missing when the buffer is too small.
    let end = s.type.encode(rec, this.#scratch, 5)
    if (end < 0) {
      this.#scratch = Buffer.allocUnsafe(2 * (this.#scratch.length - end))
      end = s.type.encode(rec, this.#scratch, 5)
    }
    this.#scratch[0] = MAGIC_BYTE
    this.#scratch.writeInt32BE(s.id, 1)
    const out = Buffer.allocUnsafe(end)
    this.#scratch.copy(out, 0, 0, end)
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
