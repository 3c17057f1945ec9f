/**
 * A fix for kafkajs 2.2.4's producer retry path (`src/producer/sendMessages.js`), installed before
 * kafkajs loads (the kafkajs adapter imports this module first). It lost and duplicated records
 * whenever a partition leader moved between brokers, which on a replicated cluster is every
 * broker restart.
 *
 * kafkajs groups the records by partition leader, sends one request per broker and keeps the
 * answers in a map keyed by broker that outlives the retries; a retry sends only to the brokers
 * without an answer yet. Two faults follow:
 *
 * - **Lost records.** When broker B fails (it went away, or answered NOT_LEADER_OR_FOLLOWER) and its
 *   partitions moved to broker A, which had already answered for its own partitions, the retry
 *   skips A: the moved partitions are never sent, and the send resolves as a success.
 * - **Duplicated records.** `Promise.all` rejects at the first failed request while the others are
 *   still in flight; the retry then sends again to every broker whose answer has not arrived, with
 *   new sequence numbers, so the broker's idempotence cannot recognise the copy.
 *
 * The replacement keeps the answers per partition: records are assigned to partitions once, each
 * attempt sends every partition without an acknowledgement to its current leader, waits for every
 * request of the attempt to settle before retrying, and a partition without a leader in the
 * metadata fails the attempt (kafkajs dropped it silently or sent it to node -1). A failed request
 * rolls its sequence numbers back (kafkajs's own bookkeeping), so its retry carries the same
 * numbers and the broker drops a copy that had landed.
 */
import { createRequire } from 'node:module'
import { replaceKafkajsModule } from './kafkajs-module.js'

interface KafkaMessage {
  readonly partition?: number
}

interface PartitionMetadata {
  readonly partitionId: number
  readonly leader?: number | null
}

interface Broker {
  readonly nodeId: number
  produce(request: unknown): Promise<unknown>
}

interface Cluster {
  refreshMetadataIfNecessary(): Promise<void>
  refreshMetadata(): Promise<void>
  addMultipleTargetTopics(topics: string[]): Promise<void>
  findTopicPartitionMetadata(topic: string): PartitionMetadata[]
  findBroker(options: { nodeId: number }): Promise<Broker>
  removeBroker(options: { host: string; port: number }): void
  isConnected(): boolean
  connect(): Promise<void>
  readonly targetTopics: Set<string>
}

interface EosManager {
  acquireBrokerLock(broker: Broker): Promise<void>
  releaseBrokerLock(broker: Broker): void
  isTransactional(): boolean
  addPartitionsToTransaction(topicData: TopicData[]): Promise<void>
  getSequence(topic: string, partition: number): number
  updateSequence(topic: string, partition: number, increment: number): void
  getTransactionalId(): string
  getProducerId(): unknown
  getProducerEpoch(): unknown
}

interface Logger {
  debug(message: string, extra?: object): void
  error(message: string, extra?: object): void
}

type Partitioner = (args: {
  topic: string
  partitionMetadata: PartitionMetadata[]
  message: KafkaMessage
}) => number

type Retrier = <T>(
  fn: (bail: (e: unknown) => void, retryCount: number, retryTime: number) => Promise<T>,
) => Promise<T>

interface TopicData {
  topic: string
  partitions: { partition: number; messages: KafkaMessage[]; firstSequence?: number }[]
}

interface SendArgs {
  readonly acks: number
  readonly timeout?: number
  readonly compression?: unknown
  readonly topicMessages: readonly { topic: string; messages: KafkaMessage[] }[]
}

interface KafkaError {
  readonly name?: string
  readonly type?: string
  readonly message?: string
  readonly retriable?: boolean
  readonly host?: string
  readonly port?: number
}

/** One partition's records of a send, and its acknowledgement once the broker gave one. */
interface PartitionSend {
  readonly topic: string
  readonly partition: number
  readonly messages: KafkaMessage[]
  acks: unknown[] | null
}

const require = createRequire(import.meta.url)
const { KafkaJSMetadataNotLoaded } = require('kafkajs/src/errors.js') as {
  KafkaJSMetadataNotLoaded: new (message: string, options?: object) => Error
}
const { staleMetadata } = require('kafkajs/src/protocol/error.js') as {
  staleMetadata: (e: unknown) => boolean
}
const responseSerializer = require('kafkajs/src/producer/responseSerializer.js') as (
  response: unknown,
) => unknown[]

/** The errors after which kafkajs refreshes its metadata before retrying (as it did before). */
const METADATA_ERRORS = new Set([
  'KafkaJSMetadataNotLoaded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSBrokerNotFound',
])

/** `sendMessages` as kafkajs's messageProducer calls it. */
export function createSendMessages({
  logger,
  cluster,
  partitioner,
  eosManager,
  retrier,
}: {
  logger: Logger
  cluster: Cluster
  partitioner: Partitioner
  eosManager: EosManager
  retrier: Retrier
}) {
  /** The records by partition, assigned once from the first metadata that has the topics. */
  function assign(topicMessages: SendArgs['topicMessages']): PartitionSend[] {
    const sends: PartitionSend[] = []
    for (const { topic, messages } of topicMessages) {
      const partitionMetadata = cluster.findTopicPartitionMetadata(topic)
      if (partitionMetadata.length === 0) {
        logger.debug('Producing to topic without metadata', {
          topic,
          targetTopics: Array.from(cluster.targetTopics),
        })
        throw new KafkaJSMetadataNotLoaded('Producing to topic without metadata')
      }
      const byPartition = new Map<number, KafkaMessage[]>()
      for (const message of messages) {
        const partition = partitioner({ topic, partitionMetadata, message })
        let list = byPartition.get(partition)
        if (list === undefined) byPartition.set(partition, (list = []))
        list.push(message)
      }
      for (const [partition, list] of byPartition)
        sends.push({ topic, partition, messages: list, acks: null })
    }
    return sends
  }

  /** The unacknowledged partitions by their current leader; fails if one has none. */
  function byLeader(sends: readonly PartitionSend[]): Map<number, PartitionSend[]> {
    const out = new Map<number, PartitionSend[]>()
    const metadata = new Map<string, PartitionMetadata[]>()
    for (const s of sends) {
      if (s.acks !== null) continue
      let partitions = metadata.get(s.topic)
      if (partitions === undefined)
        metadata.set(s.topic, (partitions = cluster.findTopicPartitionMetadata(s.topic)))
      const leader = partitions.find((p) => p.partitionId === s.partition)?.leader
      if (leader === null || leader === undefined || leader < 0)
        throw new KafkaJSMetadataNotLoaded(
          `No leader known for ${s.topic} partition ${s.partition}`,
        )
      let list = out.get(leader)
      if (list === undefined) out.set(leader, (list = []))
      list.push(s)
    }
    return out
  }

  async function sendTo(nodeId: number, sends: readonly PartitionSend[], args: SendArgs) {
    const broker = await cluster.findBroker({ nodeId })
    const byTopic = new Map<string, TopicData>()
    for (const s of sends) {
      let t = byTopic.get(s.topic)
      if (t === undefined) byTopic.set(s.topic, (t = { topic: s.topic, partitions: [] }))
      t.partitions.push({ partition: s.partition, messages: s.messages })
    }
    const topicData = [...byTopic.values()]
    await eosManager.acquireBrokerLock(broker)
    try {
      if (eosManager.isTransactional()) await eosManager.addPartitionsToTransaction(topicData)
      for (const { topic, partitions } of topicData)
        for (const entry of partitions) {
          entry.firstSequence = eosManager.getSequence(topic, entry.partition)
          eosManager.updateSequence(topic, entry.partition, entry.messages.length)
        }
      let response: unknown
      try {
        response = await broker.produce({
          transactionalId: eosManager.isTransactional()
            ? eosManager.getTransactionalId()
            : undefined,
          producerId: eosManager.getProducerId(),
          producerEpoch: eosManager.getProducerEpoch(),
          acks: args.acks,
          timeout: args.timeout,
          compression: args.compression,
          topicData,
        })
      } catch (e) {
        for (const { topic, partitions } of topicData)
          for (const entry of partitions)
            eosManager.updateSequence(topic, entry.partition, -entry.messages.length)
        throw e
      }
      // The broker answered for every partition of the request (an error in any one throws above).
      const answers = args.acks !== 0 ? responseSerializer(response) : []
      for (const s of sends)
        s.acks = answers.filter((a) => {
          const { topicName, partition } = a as { topicName: string; partition: number }
          return topicName === s.topic && partition === s.partition
        })
    } finally {
      eosManager.releaseBrokerLock(broker)
    }
  }

  return async (args: SendArgs): Promise<unknown[]> => {
    let sends: PartitionSend[] | null = null
    const topics = args.topicMessages.map(({ topic }) => topic)
    return retrier(async (bail, retryCount, retryTime) => {
      await cluster.addMultipleTargetTopics(topics)
      try {
        await cluster.refreshMetadataIfNecessary()
        sends ??= assign(args.topicMessages)
        const requests = [...byLeader(sends)].map(([nodeId, list]) => sendTo(nodeId, list, args))
        // Every request of the attempt settles before the next: no copy goes out while the
        // original may still land.
        const failed = (await Promise.allSettled(requests)).find((r) => r.status === 'rejected')
        if (failed !== undefined) throw failed.reason
        return sends.flatMap((s) => s.acks ?? [])
      } catch (err) {
        const e = err as KafkaError
        if (e.name === 'KafkaJSConnectionClosedError' && e.host !== undefined)
          cluster.removeBroker({ host: e.host, port: e.port as number })
        if (!cluster.isConnected()) {
          logger.debug(`Cluster has disconnected, reconnecting: ${e.message}`, {
            retryCount,
            retryTime,
          })
          await cluster.connect()
          await cluster.refreshMetadata()
          throw err
        }
        if (
          staleMetadata(e) ||
          METADATA_ERRORS.has(e.name ?? '') ||
          (e.name === 'KafkaJSProtocolError' && e.retriable === true)
        ) {
          logger.error(`Failed to send messages: ${e.message}`, { retryCount, retryTime })
          await cluster.refreshMetadata()
          throw err
        }
        logger.error(`${e.message}`, { retryCount, retryTime })
        if (e.retriable === true) throw err
        bail(err)
        return []
      }
    })
  }
}

replaceKafkajsModule(
  'src/producer/sendMessages.js',
  'src/producer/messageProducer.js',
  'sendMessagesFix',
  createSendMessages,
)
