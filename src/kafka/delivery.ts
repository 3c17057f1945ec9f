/**
 * How a processed batch reaches Kafka (SPEC §4). Both strategies produce the batch's records
 * (events, dead letters, lineage changelog) and then make its offset count as consumed:
 *
 * - at least once: one idempotent producer (acks=all); the offset is committed after every record
 *   is acknowledged. A crash in between replays the batch; duplicates carry the same ids.
 * - exactly once: a Kafka transaction per batch holding the records and the consumed offset
 *   (`sendOffsets`). kafkajs has no KIP-447 (its TxnOffsetCommit carries no group generation), so
 *   zombies are fenced the pre-KIP-447 way: one transactional producer per input partition, with a
 *   transactional id stable per group, topic and partition. The instance that gets a partition
 *   initialises that id, which bumps its epoch: the previous owner's producer is fenced and its
 *   open transaction aborted.
 */
import { AssetstreamError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { OutputRecord } from '../pipeline/batch.js'
import { retryUntil } from '../timing.js'
import {
  isRetriable,
  type EachBatchPayload,
  type Kafka,
  type Message,
  type Producer,
} from './kafkajs.js'
import { KeyHashPartitioner } from './partitioner.js'

export interface Delivery {
  /** Partitions newly assigned, before their state is restored. */
  onAssigned(partitions: readonly number[]): Promise<void>
  /** Partitions no longer assigned. */
  onRevoked(partitions: readonly number[]): Promise<void>
  /**
   * Produces the records and makes the batch consumed. Throws `publish_failed` (retriable) when
   * the batch must be retried from its first message, `producer_fenced` when another instance now
   * owns the partition.
   */
  deliver(
    records: readonly OutputRecord[],
    payload: EachBatchPayload,
    lastOffset: string,
  ): Promise<void>
  close(): Promise<void>
}

const PRODUCER_RETRY = {
  retries: Number.MAX_SAFE_INTEGER,
  initialRetryTime: 300,
  maxRetryTime: 10_000,
}

/** The records as kafkajs topic messages. */
function topicMessages(records: readonly OutputRecord[]): { topic: string; messages: Message[] }[] {
  const byTopic = new Map<string, Message[]>()
  for (const r of records) {
    let list = byTopic.get(r.topic)
    if (list === undefined) byTopic.set(r.topic, (list = []))
    const m: Message = { key: r.key, value: r.value, headers: r.headers }
    if (r.partition !== undefined) m.partition = r.partition
    list.push(m)
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }))
}

/** The offset to commit after a batch: the next one to consume. */
const nextOffset = (lastOffset: string): string => String(BigInt(lastOffset) + 1n)

function publishFailed(records: number, e: unknown): AssetstreamError {
  // Never the messages' fault: the whole batch is retried (duplicates keep their ids).
  return new AssetstreamError(
    'publish_failed',
    `producing ${records} records failed: ${(e as Error).message}`,
    {
      retriable: true,
      cause: e,
    },
  )
}

/** Records for one produce request, and about the bytes they take in it. */
export interface Slice {
  readonly records: readonly OutputRecord[]
  readonly bytes: number
}

/** A slice of one batch waiting for the shared producer, and who waits for its ack. */
interface PendingSend extends Slice {
  readonly resolve: () => void
  readonly reject: (e: unknown) => void
}

/**
 * The most bytes of records one merged produce request carries: any record batch in it (one per
 * topic partition) then stays well under the broker's default `message.max.bytes` (1 MiB).
 */
export const MERGE_BYTES = 512 * 1024

/** About the bytes a record takes in a produce request (key, value, headers). */
function recordBytes(r: OutputRecord): number {
  let n = 24 + (r.key?.length ?? 0) + (r.value?.length ?? 0)
  for (const k in r.headers) n += 8 + k.length + (r.headers[k]?.length ?? 0)
  return n
}

/**
 * The records in consecutive slices of at most MERGE_BYTES (a record larger than that alone): one
 * produce request each, so no record batch exceeds the broker's `message.max.bytes` however many
 * records a batch makes (a lineage sweep can tombstone tens of thousands of entries at once).
 */
export function slices(records: readonly OutputRecord[]): Slice[] {
  const out: Slice[] = []
  let start = 0
  let bytes = 0
  for (let i = 0; i < records.length; i++) {
    const b = recordBytes(records[i] as OutputRecord)
    if (i > start && bytes + b > MERGE_BYTES) {
      out.push({ records: records.slice(start, i), bytes })
      start = i
      bytes = 0
    }
    bytes += b
  }
  if (start < records.length)
    out.push({ records: start === 0 ? records : records.slice(start), bytes })
  return out
}

export class AtLeastOnce implements Delivery {
  readonly #producer: Producer
  /** Batches whose records wait for the request in flight to finish. */
  #pending: PendingSend[] = []
  #sending = false

  constructor(kafka: Kafka) {
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: KeyHashPartitioner, // murmur2, as kafkajs's DefaultPartitioner and Java clients
      retry: PRODUCER_RETRY,
    })
  }

  /**
   * Connects, retrying what kafkajs calls retriable until `deadline` (epoch ms): the idempotent
   * producer asks the metadata's controller for its id, and kafkajs gives up at once when that
   * broker refuses the connection — on a KRaft cluster any broker, one killed a moment ago
   * included. kafkajs refreshes the metadata on that refusal, so the next try asks another.
   */
  async connect(deadline: number): Promise<void> {
    await retryUntil(deadline, () => this.#producer.connect(), isRetriable)
  }

  onAssigned(): Promise<void> {
    return Promise.resolve()
  }

  onRevoked(): Promise<void> {
    return Promise.resolve()
  }

  async deliver(
    records: readonly OutputRecord[],
    payload: EachBatchPayload,
    lastOffset: string,
  ): Promise<void> {
    if (records.length > 0) {
      try {
        for (const slice of slices(records)) await this.#send(slice)
      } catch (e) {
        throw publishFailed(records.length, e)
      }
    }
    payload.resolveOffset(lastOffset)
    await payload.commitOffsetsIfNecessary() // a rebalance error goes to kafkajs, which rejoins
  }

  /**
   * Produces the records of a batch. The idempotent producer sends one request at a time (kafkajs
   * holds a lock per broker: sequence numbers need it), so the batches of the other partitions
   * that arrive while a request is in flight go together in the next one, up to MERGE_BYTES: one
   * produce request instead of one each. Resolves once the records are acknowledged. When a
   * merged request fails, its batches are sent again one by one, so a batch fails only for its
   * own records (and is retried whole by the processor) and never because of another's.
   */
  #send(slice: Slice): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ ...slice, resolve, reject })
      if (!this.#sending) void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    this.#sending = true
    try {
      while (this.#pending.length > 0) {
        // The oldest batch, and the next ones while the request stays under MERGE_BYTES.
        let n = 1
        let bytes = (this.#pending[0] as PendingSend).bytes
        for (; n < this.#pending.length; n++) {
          bytes += (this.#pending[n] as PendingSend).bytes
          if (bytes > MERGE_BYTES) break
        }
        const sends = this.#pending.splice(0, n)
        if (sends.length > 1) {
          const merged = topicMessages(sends.flatMap((s) => s.records))
          try {
            await this.#producer.sendBatch({ acks: -1, topicMessages: merged })
            for (const s of sends) s.resolve()
            continue
          } catch {
            // each batch on its own below: only those whose own records fail, fail
          }
        }
        for (const s of sends) {
          try {
            await this.#producer.sendBatch({ acks: -1, topicMessages: topicMessages(s.records) })
            s.resolve()
          } catch (e) {
            s.reject(e)
          }
        }
      }
    } finally {
      this.#sending = false
    }
  }

  async close(): Promise<void> {
    await this.#producer.disconnect()
  }
}

/** kafkajs reports a fenced producer as one of these protocol errors, possibly wrapped. */
function isFenced(e: unknown): boolean {
  for (let x = e as { type?: string; cause?: unknown; originalError?: unknown } | undefined; x;) {
    if (x.type === 'INVALID_PRODUCER_EPOCH' || x.type === 'PRODUCER_FENCED') return true
    x = (x.originalError ?? x.cause) as typeof x
  }
  return false
}

export interface ExactlyOnceOptions {
  readonly groupId: string
  readonly inputTopic: string
  readonly transactionTimeoutMs: number
  readonly onTransaction?: (outcome: 'commit' | 'abort') => void
}

export class ExactlyOnce implements Delivery {
  readonly #producers = new Map<number, Promise<Producer>>()
  readonly #log: Logger
  /** Transactions committed and aborted since start. */
  readonly counts = { commits: 0, aborts: 0 }

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ExactlyOnceOptions,
    logger: Logger,
  ) {
    this.#log = logger.child({ module: 'exactly-once' })
  }

  /** The stable transactional id of an input partition. */
  transactionalId(partition: number): string {
    return `${this.options.groupId}.${this.options.inputTopic}.${partition}`
  }

  #producerFor(partition: number): Promise<Producer> {
    let p = this.#producers.get(partition)
    if (p === undefined) {
      const producer = this.kafka.producer({
        transactionalId: this.transactionalId(partition),
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: this.options.transactionTimeoutMs,
        allowAutoTopicCreation: false,
        createPartitioner: KeyHashPartitioner,
        retry: PRODUCER_RETRY,
      })
      // connect() initialises the transactional id: this fences any previous owner.
      p = producer.connect().then(() => producer)
      this.#producers.set(partition, p)
      p.catch(() => this.#producers.delete(partition))
    }
    return p
  }

  async #dispose(partition: number): Promise<void> {
    const p = this.#producers.get(partition)
    this.#producers.delete(partition)
    await p?.then((producer) => producer.disconnect()).catch(() => undefined)
  }

  /**
   * A fresh producer per partition, even where one exists (a restore after an eviction or a
   * commit without an answer): initialising the transactional id completes or aborts its open
   * transaction, so the committed offsets read afterwards are settled.
   */
  async onAssigned(partitions: readonly number[]): Promise<void> {
    await Promise.all(partitions.map((p) => this.#dispose(p)))
    await Promise.all(partitions.map((p) => this.#producerFor(p)))
  }

  async onRevoked(partitions: readonly number[]): Promise<void> {
    await Promise.all(partitions.map((p) => this.#dispose(p)))
  }

  async deliver(
    records: readonly OutputRecord[],
    payload: EachBatchPayload,
    lastOffset: string,
  ): Promise<void> {
    const { partition, topic } = payload.batch
    let producer: Producer
    try {
      producer = await this.#producerFor(partition)
    } catch (e) {
      throw publishFailed(records.length, e)
    }
    const txn = await producer.transaction().catch(async (e: unknown) => {
      await this.#dispose(partition) // kafkajs#1282: a producer stuck in a bad state is replaced
      throw publishFailed(records.length, e)
    })
    let committing = false
    try {
      for (const slice of slices(records))
        await txn.sendBatch({ acks: -1, topicMessages: topicMessages(slice.records) })
      if (!payload.isRunning() || payload.isStale())
        throw new Error('the batch went stale (rebalance or stop)')
      await txn.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [{ topic, partitions: [{ partition, offset: nextOffset(lastOffset) }] }],
      })
      committing = true
      await txn.commit()
      this.counts.commits++
      this.options.onTransaction?.('commit')
    } catch (e) {
      this.counts.aborts++
      this.options.onTransaction?.('abort')
      await txn.abort().catch(() => undefined)
      // A fresh producer for the next attempt: initialising the id aborts anything left open.
      await this.#dispose(partition)
      if (isFenced(e)) {
        throw new AssetstreamError(
          'producer_fenced',
          `partition ${partition}: another instance owns it now`,
          { cause: e },
        )
      }
      if (committing) {
        // The commit may have reached the coordinator (a broker going away mid-answer): retrying
        // the batch could publish it twice. Initialising the id again settles the transaction;
        // the committed offsets then tell whether it committed (see the processor).
        this.#log.warn({ err: e, partition }, 'transaction commit got no answer')
        throw new AssetstreamError(
          'publish_failed',
          `partition ${partition}: the commit of ${records.length} records got no answer: ${(e as Error).message}`,
          { retriable: true, cause: e, partition, commitOutcomeUnknown: true },
        )
      }
      this.#log.warn({ err: e, partition }, 'transaction aborted')
      throw publishFailed(records.length, e)
    }
    payload.resolveOffset(lastOffset)
  }

  async close(): Promise<void> {
    await Promise.all([...this.#producers.keys()].map((p) => this.#dispose(p)))
  }
}
