/**
 * The one pino root logger; modules take children of it. Logs go to stderr: JSON lines into a
 * pipe or a file (for log collectors), one readable line per entry at a terminal.
 */
import pino from 'pino'
import type { DestinationStream, Logger } from 'pino'
import type { LogLevel } from './config/config.js'

export type { Logger }

const LEVELS: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
}
/** Fields every entry has, left out of the readable line. */
const OMITTED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'stack'])

/** One JSON log line as a person reads it: time, level, message, then the other fields. */
export function readableLine(json: string): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json
  }
  const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now())
  const level = LEVELS[entry.level as number] ?? String(entry.level)
  const fields = Object.entries(entry)
    .filter(([k]) => !OMITTED.has(k))
    .map(([k, v]) => {
      const err = v as { message?: unknown } | null
      const text =
        k === 'err' && typeof err?.message === 'string'
          ? err.message
          : typeof v === 'string'
            ? v
            : JSON.stringify(v)
      return `${k}=${/\s/.test(text) ? JSON.stringify(text) : text}`
    })
  const msg = typeof entry.msg === 'string' ? entry.msg : ''
  return `${time.toISOString().slice(11, 23)} ${level.padEnd(5)} ${msg}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`
}

function terminal(): DestinationStream {
  return {
    write(chunk: string): void {
      for (const line of chunk.split('\n'))
        if (line !== '') process.stderr.write(readableLine(line))
    },
  }
}

export function createLogger(level: LogLevel, name = 'assetstream'): Logger {
  const destination =
    process.stderr.isTTY === true ? terminal() : pino.destination({ fd: 2, sync: false })
  return pino({ name, level, base: { pid: process.pid } }, destination)
}
