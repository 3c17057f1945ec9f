/** Deterministic, time-ordered, UUIDv7-shaped event ids (SPEC §2.5). */
import * as crypto from 'node:crypto'
import { microsToMillis } from './time.js'
import type { EpochMicros } from './types.js'

/**
 * SHA-256 of a string's UTF-8, as lowercase hex: the one-shot `crypto.hash` where Node has it
 * (20.12+; for a short input several times cheaper than a `Hash` object, and a hex string is
 * cheaper to return than a Buffer), else `createHash`.
 */
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex')

/** The hex digit of `(x & 0x3f) | 0x80`'s high nibble, from the hex digit of `x`'s high nibble. */
const VARIANT = '89ab'

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
  const d = sha256Hex(`${messageId}|${event}|${resourceId}|${n}`)
  // 48-bit two's complement, so an instant before 1970 still yields 6 bytes.
  let ms = microsToMillis(occurred)
  if (ms < 0) ms += 2 ** 48
  const t = ms.toString(16).padStart(12, '0')
  const c = d.charCodeAt(4) // the high nibble of d[2]
  const variant = VARIANT[(c <= 0x39 ? c - 0x30 : c - 0x57) & 3] as string
  // bytes 0–3 - 4–5 - 7 and d[0]'s low nibble, d[1] - variant, d[2]'s low nibble, d[3] - d[4..9]
  return `${t.slice(0, 8)}-${t.slice(8)}-7${d.slice(1, 4)}-${variant}${d.slice(5, 8)}-${d.slice(8, 20)}`
}
