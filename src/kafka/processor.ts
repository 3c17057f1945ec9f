/**
 * The Kafka processor, at least once (SPEC §4): a consumer group on the input topic; each batch of
 * a partition goes through `processBatch`, its records (events, dead letters, lineage changelog)
 * are produced with acks=all by an idempotent producer, and only then is the batch's last offset
 * resolved and committed. A crash anywhere before the commit replays the batch: duplicates carry
 * the same ids; nothing is lost.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { EventEncoder } from '../codec/event-codec.js'
import type { WriterSchemas } from '../codec/lifecycle-decode.js'
import type { Config } from '../config/config.js'
import { eventTopic } from '../config/config.js'
import { AssetstreamError } from '../errors.js'
import type { Logger } from '../logger.js'
import { processBatch, type BatchContext, type OutputRecord } from '../pipeline/batch.js'
import { MemoryLineageStore } from '../state/memory-lineage-store.js'
import { restoreLineage } from './changelog-restore.js'
import {
  isRetriable,
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type Message,
  type Producer,
} from './kafkajs.js'

export interface ProcessorDeps {
  readonly kafka: Kafka
  readonly admin: Admin
  readonly encoder: EventEncoder
  readonly schemas: WriterSchemas
  readonly logger: Logger
}

/** Counters since start, for logs and the demo's summary (the metrics endpoint comes later). */
export interface ProcessorCounters {
  messages: number
  events: number
  deadLetters: number
  unknownUpstreams: number
  batches: number
  retries: number
}

const MAX_BACKOFF_MS = 10_000

export class Processor {
  readonly counters: ProcessorCounters = {
    messages: 0,
    events: 0,
    deadLetters: 0,
    unknownUpstreams: 0,
    batches: 0,
    retries: 0,
  }
  readonly #config: Config
  readonly #deps: ProcessorDeps
  readonly #log: Logger
  readonly #ctx: BatchContext
  readonly #producer: Producer
  readonly #consumer: Consumer
  /** Lineage state of each owned input partition. */
  readonly #stores = new Map<number, MemoryLineageStore>()
  /** Restores in progress, by partition. */
  readonly #restoring = new Map<number, Promise<void>>()
  #memberId: string | undefined
  #fatal: ((e: Error) => void) | undefined
  readonly #failed: Promise<never>

  constructor(config: Config, deps: ProcessorDeps) {
    this.#config = config
    this.#deps = deps
    this.#log = deps.logger.child({ module: 'processor' })
    this.#ctx = {
      inputTopic: config.inputTopic,
      dlqTopic: config.dlqTopic,
      changelogTopic: config.changelogTopic,
      eventTopic: (e) => eventTopic(config, e),
      encoder: deps.encoder,
      schemas: deps.schemas,
      derive: { runContext: config.runContext },
      now: () => new Date(),
    }
    this.#producer = deps.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner, // murmur2, as Java clients partition keys
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
    })
    this.#consumer = deps.kafka.consumer({
      groupId: config.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
    })
    this.#failed = new Promise<never>((_, reject) => {
      this.#fatal = reject
    })
    this.#failed.catch(() => undefined) // observed through `failed`
  }

  /** Rejects when the consumer crashed and kafkajs will not restart it. */
  get failed(): Promise<never> {
    return this.#failed
  }

  async start(): Promise<void> {
    const { events } = this.#consumer
    this.#consumer.on(events.GROUP_JOIN, ({ payload }) =>
      this.#onAssignment(payload.memberId, payload.memberAssignment),
    )
    this.#consumer.on(events.CRASH, ({ payload }) => {
      if (payload.restart) {
        this.#log.warn({ err: payload.error }, 'consumer crashed; kafkajs restarts it')
        return
      }
      this.#log.error({ err: payload.error }, 'consumer crashed and will not restart')
      this.#fatal?.(
        new AssetstreamError('consumer_crashed', `the consumer crashed: ${payload.error.message}`, {
          cause: payload.error,
        }),
      )
    })
    await this.#producer.connect()
    await this.#consumer.connect()
    await this.#consumer.subscribe({
      topic: this.#config.inputTopic,
      fromBeginning: this.#config.fromBeginning,
    })
    await this.#consumer.run({
      autoCommit: true, // commits only resolved offsets: after the batch's records were acknowledged
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#config.partitionsConcurrently,
      eachBatch: (payload) => this.#eachBatch(payload),
    })
    this.#log.info(
      { topic: this.#config.inputTopic, groupId: this.#config.groupId },
      'processor started',
    )
  }

  /** Stops consuming after the batches in flight, commits their offsets, disconnects. */
  async stop(): Promise<void> {
    await this.#consumer.disconnect()
    await this.#producer.disconnect()
    this.#log.info({ counters: this.counters }, 'processor stopped')
  }

  #onAssignment(memberId: string, assignment: Record<string, number[]>): void {
    const assigned = new Set(assignment[this.#config.inputTopic] ?? [])
    // A new member id means the group evicted us at some point: partitions we held may have been
    // processed elsewhere meanwhile, so nothing held is trusted.
    if (memberId !== this.#memberId) this.#stores.clear()
    this.#memberId = memberId
    for (const p of [...this.#stores.keys()]) if (!assigned.has(p)) this.#stores.delete(p)
    const fresh = [...assigned]
      .filter((p) => !this.#stores.has(p) && !this.#restoring.has(p))
      .sort((a, b) => a - b)
    this.#log.info({ assigned: [...assigned], restoring: fresh }, 'partitions assigned')
    if (fresh.length === 0) return
    const restore = restoreLineage(
      this.#deps.kafka,
      this.#deps.admin,
      {
        topic: this.#config.changelogTopic,
        partitions: fresh,
        groupId: this.#config.groupId,
        timeoutMs: 300_000,
      },
      this.#log,
    ).then((stores) => {
      for (const [p, s] of stores) this.#stores.set(p, s)
    })
    const settled = restore.finally(() => {
      for (const p of fresh) if (this.#restoring.get(p) === settled) this.#restoring.delete(p)
    })
    settled.catch(() => undefined) // awaited by the partition's next batch
    for (const p of fresh) this.#restoring.set(p, settled)
  }

  /** The partition's state, once restored; waits (heart-beating) while a restore runs. */
  async #storeFor(partition: number, heartbeat: () => Promise<void>): Promise<MemoryLineageStore> {
    const restoring = this.#restoring.get(partition)
    if (restoring !== undefined) {
      const done = restoring.then(
        () => true,
        (e: unknown) => {
          throw e
        },
      )
      while (!(await Promise.race([done, sleep(2_000).then(() => false)]))) await heartbeat()
    }
    let store = this.#stores.get(partition)
    if (store === undefined) {
      // Assigned without a GROUP_JOIN we saw (should not happen): start empty rather than stall.
      this.#log.warn({ partition }, 'no restored lineage state for a partition; starting empty')
      this.#stores.set(partition, (store = new MemoryLineageStore()))
    }
    return store
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    const heartbeat = () => payload.heartbeat()
    const isRunning = () => payload.isRunning()
    if (batch.isEmpty()) return
    const partition = batch.partition
    const store = await this.#storeFor(partition, heartbeat)
    for (let attempt = 0; ; attempt++) {
      if (!isRunning() || payload.isStale()) return
      let result: Awaited<ReturnType<typeof processBatch>>
      try {
        result = await processBatch(partition, batch.messages, store, this.#ctx)
        await this.#send(result.records)
      } catch (e) {
        if (!isRetriable(e)) throw e
        this.counters.retries++
        const wait = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempt, 6))
        this.#log.warn(
          {
            err: e,
            topic: batch.topic,
            partition,
            offset: batch.firstOffset(),
            attempt,
            waitMs: wait,
          },
          'batch failed with a retriable error; retrying it',
        )
        await this.#pause(wait, heartbeat, isRunning)
        continue
      }
      result.commit()
      payload.resolveOffset(batch.lastOffset())
      await payload.commitOffsetsIfNecessary() // a rebalance error here goes to kafkajs, which rejoins
      this.#count(result.stats)
      return
    }
  }

  async #pause(
    ms: number,
    heartbeat: () => Promise<void>,
    isRunning: () => boolean,
  ): Promise<void> {
    const until = Date.now() + ms
    while (Date.now() < until && isRunning()) {
      await sleep(Math.min(1_000, until - Date.now()))
      await heartbeat().catch(() => undefined)
    }
  }

  async #send(records: readonly OutputRecord[]): Promise<void> {
    if (records.length === 0) return
    const byTopic = new Map<string, Message[]>()
    for (const r of records) {
      let list = byTopic.get(r.topic)
      if (list === undefined) byTopic.set(r.topic, (list = []))
      const m: Message = { key: r.key, value: r.value, headers: r.headers }
      if (r.partition !== undefined) m.partition = r.partition
      list.push(m)
    }
    try {
      await this.#producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      })
    } catch (e) {
      // Never the message's fault: the whole batch is retried (duplicates keep their ids).
      throw new AssetstreamError(
        'publish_failed',
        `producing ${records.length} records failed: ${(e as Error).message}`,
        {
          retriable: true,
          cause: e,
        },
      )
    }
  }

  #count(stats: Awaited<ReturnType<typeof processBatch>>['stats']): void {
    const c = this.counters
    c.batches++
    c.messages += stats.messages
    for (const n of Object.values(stats.events)) c.events += n ?? 0
    for (const n of Object.values(stats.deadLetters)) c.deadLetters += n ?? 0
    c.unknownUpstreams += stats.unknownUpstreams
  }
}
