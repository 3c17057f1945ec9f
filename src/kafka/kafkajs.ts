/**
 * The kafkajs adapter: the only module importing kafkajs values (CommonJS, default-imported once;
 * Node's ESM loader does not see all of its named exports). kafkajs logs are bridged into pino.
 */
// First, before kafkajs loads, the fixes that replace kafkajs modules (see each module): the
// read_committed filter, the producer retry path (leader moves lost and duplicated records), the
// consumer's fetch manager (a stop during a broker change spun forever).
import './read-committed-fix.js'
import './send-messages-fix.js'
import './fetch-manager-fix.js'
import kafkajs from 'kafkajs'
import type { Kafka, KafkaConfig, LogEntry, logLevel as LogLevelEnum } from 'kafkajs'
import type { Logger } from '../logger.js'

export type {
  Admin,
  Consumer,
  EachBatchPayload,
  IHeaders,
  Kafka,
  KafkaMessage,
  Message,
  Producer,
  Transaction,
} from 'kafkajs'

const { Kafka: KafkaClass, logLevel, CompressionTypes, Partitioners, ConfigResourceTypes } = kafkajs
export { CompressionTypes, ConfigResourceTypes, Partitioners }

/** kafkajs errors say whether a retry may help; so do ours (`retriable`, the same name). */
export const isRetriable = (e: unknown): boolean =>
  (e as { retriable?: boolean } | null)?.retriable === true

/**
 * kafkajs logs at ERROR what it retries itself: an error answer or a refused connection (the
 * Connection, BrokerPool and RequestQueue namespaces), a failed attempt of a retried call (an
 * entry with `retryCount` or `retryTime`), a group it rejoins, and a consumer crash it may restart. Those are warnings: whatever does
 * fail for good reaches assetstream's own code, which reports it (a consumer that will not
 * restart: "consumer crashed and will not restart", error).
 */
const RETRIED_NAMESPACES = new Set(['Connection', 'BrokerPool', 'RequestQueue'])
export function kafkajsLevel(
  level: LogLevelEnum,
  namespace: string,
  log: { readonly message: string; readonly retryCount?: unknown; readonly retryTime?: unknown },
): LogLevelEnum {
  if (level !== logLevel.ERROR) return level
  const retried =
    RETRIED_NAMESPACES.has(namespace) ||
    log.retryCount !== undefined ||
    log.retryTime !== undefined ||
    (namespace === 'Consumer' && log.message.startsWith('Crash:')) ||
    (namespace === 'Runner' && log.message.includes('re-joining'))
  return retried ? logLevel.WARN : level
}

function logCreator(root: Logger) {
  return (_level: LogLevelEnum) =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _t, logger: _l, ...extra } = log
      const child = { module: 'kafkajs', namespace, ...extra }
      switch (kafkajsLevel(level, namespace, log)) {
        case logLevel.ERROR:
          root.error(child, message)
          break
        case logLevel.WARN:
          root.warn(child, message)
          break
        case logLevel.INFO:
          root.info(child, message)
          break
        case logLevel.DEBUG:
          root.debug(child, message)
          break
        case logLevel.NOTHING:
          break
      }
    }
}

export interface ClientOptions {
  readonly brokers: readonly string[]
  readonly clientId: string
  /** Connection attempts before a call fails (start-up uses few, so a bad broker fails fast). */
  readonly retries?: number
}

export function createKafka(options: ClientOptions, logger: Logger): Kafka {
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: logger.isLevelEnabled('debug') ? logLevel.DEBUG : logLevel.INFO,
    logCreator: logCreator(logger),
    connectionTimeout: 3000,
    retry: { retries: options.retries ?? 8, initialRetryTime: 300, maxRetryTime: 10_000 },
  }
  return new KafkaClass(config)
}
