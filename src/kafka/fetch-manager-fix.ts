/**
 * A fix for kafkajs 2.2.4's consumer fetch manager (`src/consumer/fetchManager.js`), installed
 * before kafkajs loads (the kafkajs adapter imports this module first). A consumer stopped while its
 * fetchers were being rebuilt spun forever on the main thread: no timer, no socket, no log line
 * ever ran again, and the process held one core at 100 % until killed.
 *
 * The fetch manager runs one fetcher per broker. When the cluster's brokers change (a broker
 * killed, one back) a fetcher fails with a rebalance error, and the manager stops the others and
 * makes new fetchers for the new brokers. kafkajs makes them even when the consumer was stopped
 * during that wait (a SIGTERM while a fetch to another broker is still in flight: the replicated
 * cluster's "processor kill -9 during a leader move" test, on Node 24 two runs in three). The new
 * fetchers ask the stopped runner for batches, which answers `[]` at once without I/O, and each
 * fetcher loops on that answer in microtasks alone — the starvation behind the stop that never
 * ended in CI. The replacement keeps kafkajs's fetchers and workers and its contract, and makes no
 * new fetchers once `stop` was called; `start` then resolves, so the runner's stop completes.
 */
import { createRequire } from 'node:module'
import { replaceKafkajsModule } from './kafkajs-module.js'

interface Fetcher {
  start(): Promise<void>
  stop(): Promise<void>
}

interface KafkajsLogger {
  namespace(name: string): KafkajsLogger
  debug(message: string, extra?: object): void
}

type Fetch = (nodeId: number) => Promise<unknown[]>

interface FetchManagerOptions {
  readonly logger: KafkajsLogger
  readonly getNodeIds: () => number[]
  readonly fetch: Fetch
  readonly handler: (batch: unknown) => Promise<void>
  readonly concurrency?: number
}

const require = createRequire(import.meta.url)
const createFetcher = require('kafkajs/src/consumer/fetcher.js') as (options: {
  nodeId: number
  workerQueue: unknown
  partitionAssignments: Map<string, number>
  fetch: Fetch
  logger: KafkajsLogger
}) => Fetcher
const createWorker = require('kafkajs/src/consumer/worker.js') as (options: {
  handler: FetchManagerOptions['handler']
  workerId: number
}) => unknown
const createWorkerQueue = require('kafkajs/src/consumer/workerQueue.js') as (options: {
  workers: unknown[]
}) => unknown
const { KafkaJSFetcherRebalanceError, KafkaJSNoBrokerAvailableError } =
  require('kafkajs/src/errors.js') as {
    KafkaJSFetcherRebalanceError: new () => Error
    KafkaJSNoBrokerAvailableError: new () => Error
  }

export function createFetchManager({
  logger: rootLogger,
  getNodeIds,
  fetch,
  handler,
  concurrency = 1,
}: FetchManagerOptions) {
  const logger = rootLogger.namespace('FetchManager')
  const workers = Array.from({ length: concurrency }, (_, workerId) =>
    createWorker({ handler, workerId }),
  )
  const workerQueue = createWorkerQueue({ workers })
  let fetchers: Fetcher[] = []
  let stopped = false

  /** One fetcher per broker; each fails with a rebalance error once the brokers have changed. */
  const createFetchers = (): Fetcher[] => {
    const nodeIds = getNodeIds()
    if (nodeIds.length === 0) throw new KafkaJSNoBrokerAvailableError()
    const partitionAssignments = new Map<string, number>()
    const checkBrokers = () => {
      const now = getNodeIds()
      const changed = now.length !== nodeIds.length || nodeIds.some((id) => !now.includes(id))
      if (changed && now.length !== 0) throw new KafkaJSFetcherRebalanceError()
    }
    logger.debug(`Created ${nodeIds.length} fetchers`, { nodeIds, concurrency })
    return nodeIds.map((nodeId) =>
      createFetcher({
        nodeId,
        workerQueue,
        partitionAssignments,
        fetch: (id) => {
          checkBrokers()
          return fetch(id)
        },
        logger,
      }),
    )
  }
  const stopFetchers = async () => {
    await Promise.all(fetchers.map((f) => f.stop()))
  }

  return {
    getFetchers: () => fetchers,
    async start(): Promise<void> {
      stopped = false
      logger.debug('Starting...')
      for (;;) {
        fetchers = createFetchers()
        try {
          await Promise.all(fetchers.map((f) => f.start()))
          return
        } catch (e) {
          await stopFetchers()
          if (!(e instanceof KafkaJSFetcherRebalanceError)) throw e
          if (stopped) return // the consumer stopped meanwhile: no fetchers for it
          logger.debug('Rebalancing fetchers...')
        }
      }
    },
    async stop(): Promise<void> {
      stopped = true
      logger.debug('Stopping fetchers...')
      await stopFetchers()
      logger.debug('Stopped fetchers')
    },
  }
}

replaceKafkajsModule(
  'src/consumer/fetchManager.js',
  'src/consumer/runner.js',
  'fetchManagerFix',
  createFetchManager,
)
