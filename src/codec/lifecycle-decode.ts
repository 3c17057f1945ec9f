/**
 * Lifecycle message bytes to a JSON-shaped value for validation: UTF-8 JSON, or Avro in the
 * Confluent wire format (magic byte 0) with the same fields; the first byte tells which (SPEC §1).
 */
import type { Resolver, Type } from 'avsc'
import { undecodable, type Rejection } from '../derive/validate.js'
import { unframe } from './wire.js'

export type Decoded =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly rejection: Rejection }

const BOM = '\uFEFF'

export function decodeJson(text: string): Decoded {
  try {
    return { ok: true, value: JSON.parse(text.startsWith(BOM) ? text.slice(1) : text) }
  } catch (e) {
    return { ok: false, rejection: undecodable(`not JSON (${(e as Error).message})`) }
  }
}

/**
 * Where the writer schema of an Avro message comes from (the schema registry). It throws a
 * retriable error while the registry is unreachable — that is not the message's fault — and
 * returns undefined when the registry does not know the id.
 */
export interface WriterSchemas {
  /** Our lifecycle type and the resolver from the writer schema `schemaId` to it. */
  lifecycleReader(schemaId: number): Promise<LifecycleReader | undefined>
}

export interface LifecycleReader {
  readonly type: Type
  readonly resolver: Resolver | undefined
}

function parseJsonText(text: unknown, path: string): unknown {
  if (typeof text !== 'string') return text
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`${path} is not JSON text`)
  }
}

/** The JSON shape of a decoded Avro lifecycle record: JSON-text fields parsed back. */
export function lifecycleFromAvro(rec: Record<string, unknown>): unknown {
  const assets = rec.assets as Record<string, unknown> | null
  if (assets?.metadata) {
    const md = assets.metadata as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(md))
      out[k] = parseJsonText(md[k], `$.assets.metadata[${JSON.stringify(k)}]`)
    assets.metadata = out
  }
  const artifacts = rec.artifacts as Record<string, unknown>[] | null
  artifacts?.forEach((a, i) => {
    a.data = parseJsonText(a.data, `$.artifacts[${i}].data`)
    a.changes = parseJsonText(a.changes, `$.artifacts[${i}].changes`)
  })
  return rec
}

export async function decodeLifecycle(bytes: Buffer, schemas: WriterSchemas): Promise<Decoded> {
  const framed = unframe(bytes)
  if (framed === undefined) {
    if (bytes.length > 0 && bytes[0] === 0)
      return {
        ok: false,
        rejection: undecodable('Avro wire format shorter than its 5-byte header'),
      }
    return decodeJson(bytes.toString('utf8'))
  }
  const reader = await schemas.lifecycleReader(framed.schemaId)
  if (reader === undefined) {
    return {
      ok: false,
      rejection: undecodable(
        `Avro schema id ${framed.schemaId} is unknown to the schema registry or cannot be read as a lifecycle message`,
      ),
    }
  }
  try {
    const rec = reader.type.fromBuffer(framed.payload, reader.resolver) as Record<string, unknown>
    return { ok: true, value: lifecycleFromAvro(rec) }
  } catch (e) {
    return { ok: false, rejection: undecodable(`Avro: ${(e as Error).message}`) }
  }
}
