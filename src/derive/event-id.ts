/** Deterministic, time-ordered, UUIDv7-shaped event ids (SPEC §2.5). */
import { createHash } from 'node:crypto'
import { microsToMillis } from './time.js'
import type { EpochMicros } from './types.js'

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
)

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
  const d = createHash('sha256').update(`${messageId}|${event}|${resourceId}|${n}`, 'utf8').digest()
  // 48-bit two's complement, so an instant before 1970 still yields 6 bytes.
  let ms = microsToMillis(occurred)
  if (ms < 0) ms += 2 ** 48
  const b = new Array<number>(16)
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256
    ms = Math.floor(ms / 256)
  }
  for (let i = 0; i < 10; i++) b[6 + i] = d[i] as number
  b[6] = ((b[6] as number) & 0x0f) | 0x70
  b[8] = ((b[8] as number) & 0x3f) | 0x80
  let s = ''
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-'
    s += HEX[b[i] as number]
  }
  return s
}
