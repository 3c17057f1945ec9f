/**
 * RFC 3339 date-times to and from epoch microseconds, with calendar arithmetic of our own so that
 * microseconds survive (a JS Date keeps milliseconds) and the core reads no clock.
 */
import type { EpochMicros } from './types.js'

const MICROS_PER_DAY = 86_400_000_000
/**
 * Instants are microseconds in a float64, exact within ±2^53 µs of the epoch: from 1684-07-28 to
 * 2255-06-05 (UTC). Outside that range a date-time is rejected rather than silently rounded.
 */
const MIN_MICROS = -Number.MAX_SAFE_INTEGER
const MAX_MICROS = Number.MAX_SAFE_INTEGER

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146_097 + doe - 719_468
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const doe = z - era * 146_097
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  )
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day]
}

const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : month === 4 || month === 6 || month === 9 || month === 11
      ? 30
      : 31

/** The value of the decimal digit at `i`, or -1 (also past the end). */
function digit(s: string, i: number): number {
  const d = s.charCodeAt(i) - 0x30
  return d >= 0 && d <= 9 ? d : -1
}

/** The value of the two decimal digits at `i`, or -1. */
function twoDigits(s: string, i: number): number {
  const a = digit(s, i)
  const b = digit(s, i + 1)
  return a < 0 || b < 0 ? -1 : 10 * a + b
}

/**
 * Parses an RFC 3339 date-time. Digits past the sixth fractional one are dropped (truncated).
 * A leap second (`:60`) is accepted and lands on the next second, as POSIX time counts it.
 * Returns undefined for anything else, including instants outside 1684-07-28..2255-06-05 UTC.
 *
 * The grammar, read by hand (a regular expression and its eleven captures cost more than the rest
 * of the parse):
 * `^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$`
 */
export function parseRfc3339(text: string): EpochMicros | undefined {
  // YYYY-MM-DDTHH:MM:SS at fixed positions.
  const n = text.length
  if (n < 20) return undefined
  const y1 = twoDigits(text, 0)
  const y2 = twoDigits(text, 2)
  const month = twoDigits(text, 5)
  const day = twoDigits(text, 8)
  const hour = twoDigits(text, 11)
  const minute = twoDigits(text, 14)
  const second = twoDigits(text, 17)
  const t = text.charCodeAt(10)
  if (
    y1 < 0 ||
    y2 < 0 ||
    month < 0 ||
    day < 0 ||
    hour < 0 ||
    minute < 0 ||
    second < 0 ||
    text.charCodeAt(4) !== 0x2d || // -
    text.charCodeAt(7) !== 0x2d ||
    (t !== 0x54 && t !== 0x74) || // T t
    text.charCodeAt(13) !== 0x3a || // :
    text.charCodeAt(16) !== 0x3a
  )
    return undefined
  const year = 100 * y1 + y2
  // Fraction: one digit or more, of which the first six count.
  let i = 19
  let micros = 0
  if (text.charCodeAt(i) === 0x2e) {
    const first = ++i
    let d: number
    while ((d = digit(text, i)) >= 0) {
      if (i - first < 6) micros = 10 * micros + d
      i++
    }
    if (i === first) return undefined
    for (let k = i - first; k < 6; k++) micros *= 10
  }
  // Offset: Z, z, or ±HH:MM, then the end.
  let offsetMinutes = 0
  const z = text.charCodeAt(i)
  if (z === 0x5a || z === 0x7a) {
    if (i + 1 !== n) return undefined
  } else if (z === 0x2b || z === 0x2d) {
    if (i + 6 !== n || text.charCodeAt(i + 3) !== 0x3a) return undefined
    const offH = twoDigits(text, i + 1)
    const offM = twoDigits(text, i + 4)
    if (offH < 0 || offM < 0) return undefined
    if (offH > 23 || offM > 59) return undefined
    offsetMinutes = (z === 0x2d ? -1 : 1) * (offH * 60 + offM)
  } else {
    return undefined
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 60) return undefined
  const seconds =
    daysFromCivil(year, month, day) * 86_400 +
    hour * 3600 +
    minute * 60 +
    second -
    offsetMinutes * 60
  const total = seconds * 1_000_000 + micros
  return total < MIN_MICROS || total > MAX_MICROS ? undefined : total
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0')

/** Formats as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always six fractional digits (SPEC §2.5). */
export function formatMicros(t: EpochMicros): string {
  const days = Math.floor(t / MICROS_PER_DAY)
  let rest = t - days * MICROS_PER_DAY
  const [year, month, day] = civilFromDays(days)
  const hour = Math.floor(rest / 3_600_000_000)
  rest -= hour * 3_600_000_000
  const minute = Math.floor(rest / 60_000_000)
  rest -= minute * 60_000_000
  const second = Math.floor(rest / 1_000_000)
  const micros = rest - second * 1_000_000
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}.${pad(micros, 6)}Z`
}

/** Unix milliseconds of an instant, rounded down. */
export const microsToMillis = (t: EpochMicros): number => Math.floor(t / 1000)
