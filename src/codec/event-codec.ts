/** Avro encoding of events in the Confluent wire format, and decoding back to events. */
import type { Resolver, Type } from 'avsc'
import type { EventName, PrefectEvent } from '../derive/types.js'
import type { AvroSchema } from './avro-schemas.js'
import { eventFromAvro, eventToAvro } from './event-avro.js'
import { frame, unframe } from './wire.js'

export interface RegisteredSchema extends AvroSchema {
  /** The id the schema registry gave this schema. */
  readonly id: number
}

/** Encodes events with the registered schema of their type. */
export class EventEncoder {
  constructor(private readonly schemas: ReadonlyMap<EventName, RegisteredSchema>) {}

  encode(e: PrefectEvent): Buffer {
    const s = this.schemas.get(e.event)
    if (s === undefined) throw new Error(`no schema registered for ${e.event}`)
    return frame(s.id, s.type.toBuffer(eventToAvro(e)))
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
