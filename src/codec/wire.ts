/** The Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary. */

export const MAGIC_BYTE = 0

export function frame(schemaId: number, avro: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + avro.length)
  out[0] = MAGIC_BYTE
  out.writeInt32BE(schemaId, 1)
  avro.copy(out, 5)
  return out
}

export interface Framed {
  readonly schemaId: number
  readonly payload: Buffer
}

/** Undefined when the bytes are not in the wire format. */
export function unframe(bytes: Buffer): Framed | undefined {
  if (bytes.length < 5 || bytes[0] !== MAGIC_BYTE) return undefined
  return { schemaId: bytes.readInt32BE(1), payload: bytes.subarray(5) }
}

export const isWireFormat = (bytes: Buffer): boolean => bytes.length > 0 && bytes[0] === MAGIC_BYTE
