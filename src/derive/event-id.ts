/** Deterministic, time-ordered, UUIDv7-shaped event ids (SPEC §2.5). */
import * as crypto from 'node:crypto'
import { microsToMillis } from './time.js'
import type { EpochMicros } from './types.js'

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
)

/**
 * SHA-256 of a string's UTF-8: the one-shot `crypto.hash` where Node has it (20.12+, much cheaper
 * for short inputs than a `Hash` object), else `createHash`.
 */
const sha256: (text: string) => Buffer =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'buffer')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest()

const hex = (b: number | undefined): string => HEX[b as number] as string

/**
 * `d = SHA-256(message.id|event|resource_id|n)`; bytes 0–5 are the event's `occurred` in Unix
 * milliseconds (48-bit big-endian), bytes 6–15 are `d[0..9]`, with the version (7) and variant
 * (10xx) bits set. A replay of the same message therefore yields the same ids.
 */
export function eventId(
  messageId: string,
  event: string,
  resourceId: string,
  n: number,
  occurred: EpochMicros,
): string {
  const d = sha256(`${messageId}|${event}|${resourceId}|${n}`)
  // 48-bit two's complement, so an instant before 1970 still yields 6 bytes.
  let ms = microsToMillis(occurred)
  if (ms < 0) ms += 2 ** 48
  const hi = Math.floor(ms / 2 ** 24) // bytes 0–2
  const lo = ms - hi * 2 ** 24 // bytes 3–5
  return (
    hex(hi >>> 16) +
    hex((hi >>> 8) & 0xff) +
    hex(hi & 0xff) +
    hex(lo >>> 16) +
    '-' +
    hex((lo >>> 8) & 0xff) +
    hex(lo & 0xff) +
    '-' +
    hex(((d[0] as number) & 0x0f) | 0x70) +
    hex(d[1]) +
    '-' +
    hex(((d[2] as number) & 0x3f) | 0x80) +
    hex(d[3]) +
    '-' +
    hex(d[4]) +
    hex(d[5]) +
    hex(d[6]) +
    hex(d[7]) +
    hex(d[8]) +
    hex(d[9])
  )
}
