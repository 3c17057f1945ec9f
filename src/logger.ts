/** The one pino root logger; modules take children of it. Logs go to stderr, as JSON lines. */
import pino from 'pino'
import type { Logger } from 'pino'
import type { LogLevel } from './config/config.js'

export type { Logger }

export function createLogger(level: LogLevel, name = 'assetstream'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }))
}
