/**
 * The Kafka processor (SPEC §4): a consumer group on the input topic. Each batch of a partition
 * goes through `processBatch` against the partition's lineage state, then a `Delivery` produces
 * its records and makes its offset consumed — at least once, or exactly once in a transaction.
 * Lineage state is restored from the changelog for newly assigned partitions before their first
 * batch, and dropped for revoked ones.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { EventEncoder } from '../codec/event-codec.js'
import type { WriterSchemas } from '../codec/lifecycle-decode.js'
import type { Config } from '../config/config.js'
import { eventTopic } from '../config/config.js'
import { AssetstreamError } from '../errors.js'
import { within } from '../timing.js'
import type { EventName } from '../derive/types.js'
import type { Logger } from '../logger.js'
import { processBatch, type BatchContext, type BatchStats } from '../pipeline/batch.js'
import { MemoryLineageStore, type LineageKey } from '../state/memory-lineage-store.js'
import { restoreLineage } from './changelog-restore.js'
import { NO_METRICS, type Metrics } from '../metrics/metrics.js'
import { AtLeastOnce, ExactlyOnce } from './delivery.js'
import {
  isRetriable,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
} from './kafkajs.js'

/** How old the consumer's cluster metadata may get (see the consumer's options). */
const METADATA_MAX_AGE_MS = 5_000
/** How long each step of a stop may take (see `stop`). */
const STOP_STEP_MS = 20_000

type BatchMessage = EachBatchPayload['batch']['messages'][number]

/** The index of the first message at or past `offset`; -1 when there is none. */
const firstFrom = (messages: readonly BatchMessage[], offset: bigint): number =>
  messages.findIndex((m) => BigInt(m.offset) >= offset)

export interface ProcessorDeps {
  readonly kafka: Kafka
  readonly admin: Admin
  readonly encoder: EventEncoder
  readonly schemas: WriterSchemas
  readonly logger: Logger
  /** Wall clock (Unix ms), for lineage idle time. */
  readonly now?: () => number
  readonly metrics?: Metrics
  /** How long each step of a stop may take (default STOP_STEP_MS). */
  readonly stopStepMs?: number
}

/** A bounded run (replay): what to publish and where to stop. */
export interface ReplayBounds {
  /** Per partition, where reading starts (the group's offsets are set there before the run). */
  readonly startAt: ReadonlyMap<number, bigint>
  /** Per partition, the first offset whose events are published; earlier ones (the warm-up) only rebuild lineage. */
  readonly emitFrom: ReadonlyMap<number, bigint>
  /** Per partition, the end offset (exclusive) taken when the replay started. */
  readonly stopAt: ReadonlyMap<number, bigint>
  /** Progress after each batch: messages done so far. */
  readonly onProgress?: (done: number) => void
}

/** Counters since start, for logs and the demo's summary. */
export interface ProcessorCounters {
  messages: number
  events: number
  deadLetters: number
  unknownUpstreams: number
  batches: number
  retries: number
  expired: number
}

const MAX_BACKOFF_MS = 10_000
/**
 * How often a partition's lineage state is swept for idle entries, at most: once a minute, or a
 * tenth of a shorter TTL, so an entry outlives its TTL by at most about a tenth of it.
 */
const sweepEveryMs = (ttlMs: number): number =>
  Math.min(60_000, Math.max(1_000, Math.floor(ttlMs / 10)))
/**
 * The most idle entries one batch tombstones. A sweep over a large state can find tens of
 * thousands at once; a bounded share per batch keeps each batch (and its transaction) small and
 * the partition's latency flat. Past the bound, the next batch sweeps again.
 */
const TOMBSTONES_PER_BATCH = 1_000

export class Processor {
  readonly counters: ProcessorCounters = {
    messages: 0,
    events: 0,
    deadLetters: 0,
    unknownUpstreams: 0,
    batches: 0,
    retries: 0,
    expired: 0,
  }
  readonly #config: Config
  readonly #deps: ProcessorDeps
  readonly #now: () => number
  readonly #metrics: Metrics
  readonly #log: Logger
  readonly #ctx: BatchContext
  readonly #delivery: AtLeastOnce | ExactlyOnce
  readonly #consumer: Consumer
  /** Lineage state of each owned input partition. */
  readonly #stores = new Map<number, MemoryLineageStore>()
  /** Restores in progress, by partition. */
  readonly #restoring = new Map<number, Promise<void>>()
  readonly #lastSweep = new Map<number, number>()
  /**
   * Exactly once: per partition this member holds, the offset its last transaction committed (or
   * the settled committed offset it started from). kafkajs fetches the committed offsets again
   * after every rebalance, without KIP-447's `require_stable`: while our last transaction's
   * markers are still being written it reads an older offset, and would process committed
   * batches again. The consumer seeks here instead.
   */
  readonly #committedOffsets = new Map<number, string>()
  /**
   * Per partition, the work that must not interleave: one attempt of a batch (derive, produce,
   * commit) and the fencing of the partition's previous producer when it is taken over. A batch
   * still in flight from before a consumer restart or a commit without an answer finishes (its
   * transaction commits or aborts) before the new owner fences, reads the committed offset and
   * restores the lineage state; once the new owner holds the partition, that batch finds its
   * state superseded and publishes nothing.
   */
  readonly #turns = new Map<number, Promise<void>>()
  #memberId: string | undefined
  /** The input partitions of the latest assignment. */
  #assigned = new Set<number>()
  #stopping = false
  #crashed = false
  #connected = false
  #fatal: ((e: Error) => void) | undefined
  readonly #failed: Promise<never>
  readonly #bounds: ReplayBounds | undefined
  /** Partitions of a bounded run that still have records to read. */
  readonly #pendingPartitions: Set<number>
  #finish: (() => void) | undefined
  /** Resolves when a bounded run has read every partition up to its end offset. */
  readonly finished: Promise<void>

  /**
   * `bounds` makes a bounded run (replay): lineage stays in memory (no changelog), events are
   * published from `emitFrom` on, and `finished` resolves at the end offsets.
   */
  constructor(config: Config, deps: ProcessorDeps, bounds?: ReplayBounds) {
    this.#bounds = bounds
    this.#pendingPartitions = new Set(
      [...(bounds?.stopAt ?? [])]
        .filter(([p, end]) => end > (bounds?.startAt.get(p) ?? 0n))
        .map(([p]) => p),
    )
    this.finished = new Promise<void>((resolve) => {
      this.#finish = resolve
      if (bounds !== undefined && this.#pendingPartitions.size === 0) resolve()
    })
    this.#config = config
    this.#deps = deps
    this.#now = deps.now ?? Date.now
    this.#metrics = deps.metrics ?? NO_METRICS
    this.#log = deps.logger.child({ module: 'processor' })
    this.#ctx = {
      inputTopic: config.inputTopic,
      dlqTopic: config.dlqTopic,
      changelogTopic: bounds === undefined ? config.changelogTopic : undefined,
      eventTopic: (e) => eventTopic(config, e),
      encoder: deps.encoder,
      schemas: deps.schemas,
      derive: { runContext: config.runContext },
      now: () => new Date(this.#now()),
    }
    const exactlyOnce = config.guarantee === 'exactly-once'
    this.#delivery = exactlyOnce
      ? new ExactlyOnce(
          deps.kafka,
          {
            groupId: config.groupId,
            inputTopic: config.inputTopic,
            transactionTimeoutMs: config.transactionTimeoutMs,
            onTransaction: (outcome) => this.#metrics.transaction(outcome),
          },
          deps.logger,
        )
      : new AtLeastOnce(deps.kafka)
    this.#consumer = deps.kafka.consumer({
      groupId: config.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      // kafkajs fetches each partition from its leader as its metadata says, and after a broker's
      // connection closed it drops the broker without refreshing the metadata: the partitions
      // that broker led are then fetched from nobody until the metadata expires (5 minutes by
      // default). One rolling restart in the cluster tests stalled the processor for 220 s, until
      // the controller moved leaders again: what this would explain (not proved).
      metadataMaxAge: METADATA_MAX_AGE_MS,
      // Exactly once commits a transaction per batch: let a fetch gather up to the commit interval.
      // At least once: a short wait, so a stop (which waits for the fetch in flight) is quick.
      ...(exactlyOnce
        ? { maxWaitTimeInMs: config.commitIntervalMs, minBytes: 1 << 20 }
        : { maxWaitTimeInMs: 1_000 }),
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

  /** Transactions committed and aborted (exactly once), for metrics. */
  get transactions(): { commits: number; aborts: number } | undefined {
    return this.#delivery instanceof ExactlyOnce ? this.#delivery.counts : undefined
  }

  /** Lineage state held: entries and an estimate of their bytes. */
  lineageSize(): { entries: number; bytes: number } {
    let entries = 0
    let bytes = 0
    for (const s of this.#stores.values()) {
      entries += s.size
      bytes += s.approximateBytes()
    }
    return { entries, bytes }
  }

  /** Alive: the consumer has not crashed for good. */
  alive(): boolean {
    return !this.#crashed
  }

  /** Undefined when ready (connected, in the group, lineage restored), else why not. */
  notReady(): string | undefined {
    if (this.#crashed) return 'the consumer crashed'
    if (!this.#connected) return 'not connected to the broker'
    if (this.#memberId === undefined) return 'not in the consumer group yet'
    if (this.#restoring.size > 0)
      return `restoring lineage state of partitions ${[...this.#restoring.keys()].join(', ')}`
    return undefined
  }

  async start(): Promise<void> {
    const { events } = this.#consumer
    this.#consumer.on(events.CONNECT, () => {
      this.#connected = true
    })
    this.#consumer.on(events.DISCONNECT, () => {
      this.#connected = false
    })
    this.#consumer.on(events.GROUP_JOIN, ({ payload }) => {
      // kafkajs restarts a crashed consumer without a CONNECT event: joining the group says it.
      this.#connected = true
      this.#onAssignment(payload.memberId, payload.memberAssignment)
    })
    this.#consumer.on(events.CRASH, ({ payload }) => {
      if (payload.restart) {
        // It left the group (kafkajs disconnects it first) and joins again under a new member id,
        // so everything held is dropped then and restored from the changelog and the settled
        // committed offsets, as for a fresh assignment.
        this.#memberId = undefined
        this.#log.warn({ err: payload.error }, 'consumer crashed; kafkajs restarts it')
        return
      }
      this.#crashed = true
      this.#log.error({ err: payload.error }, 'consumer crashed and will not restart')
      this.#fatal?.(
        new AssetstreamError('consumer_crashed', `the consumer crashed: ${payload.error.message}`, {
          cause: payload.error,
        }),
      )
    })
    if (this.#delivery instanceof AtLeastOnce)
      await this.#delivery.connect(Date.now() + this.#config.startupTimeoutMs)
    await this.#consumer.connect()
    await this.#consumer.subscribe({
      topic: this.#config.inputTopic,
      fromBeginning: this.#config.fromBeginning,
    })
    await this.#consumer.run({
      // At least once commits only resolved offsets, after the batch's records were acknowledged;
      // exactly once commits offsets inside the batch's transaction.
      autoCommit: this.#config.guarantee === 'at-least-once',
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#config.partitionsConcurrently,
      eachBatch: (payload) => this.#eachBatch(payload),
    })
    this.#log.info(
      {
        topic: this.#config.inputTopic,
        groupId: this.#config.groupId,
        guarantee: this.#config.guarantee,
      },
      'processor started',
    )
  }

  /** Stops consuming after the batches in flight, commits their offsets, disconnects. */
  /**
   * Drains the batches in flight, commits and leaves the group; each step bounded by
   * STOP_STEP_MS. kafkajs's disconnect can wait forever on a request to a broker that was killed
   * and restarted (seen once in the cluster tests: 90 s and counting); past the bound the stop
   * goes on, and whatever was not committed is processed again by the partition's next owner (at
   * least once: a duplicate with the same id; exactly once: its transaction is aborted).
   */
  async stop(): Promise<void> {
    this.#stopping = true
    await this.#bounded('leaving the group', this.#consumer.disconnect())
    await this.#bounded('closing the producers', this.#delivery.close())
    this.#log.info(
      { counters: this.counters, transactions: this.transactions },
      'processor stopped',
    )
  }

  async #bounded(step: string, work: Promise<void>): Promise<void> {
    const ms = this.#deps.stopStepMs ?? STOP_STEP_MS
    if (!(await within(work, ms)))
      this.#log.warn(
        { step, ms },
        'a stop step did not finish in time: going on without it (what it did not commit is processed again)',
      )
  }

  #onAssignment(memberId: string, assignment: Record<string, number[]>): void {
    const assigned = new Set(assignment[this.#config.inputTopic] ?? [])
    // A new member id means the group evicted us at some point: partitions we held may have been
    // processed elsewhere meanwhile, so nothing held is trusted.
    if (memberId !== this.#memberId) {
      this.#stores.clear()
      this.#committedOffsets.clear()
    }
    this.#memberId = memberId
    const revoked = [...new Set([...this.#assigned, ...this.#stores.keys()])].filter(
      (p) => !assigned.has(p),
    )
    for (const p of revoked) {
      this.#stores.delete(p)
      this.#committedOffsets.delete(p)
      this.#metrics.partitionRevoked(p)
    }
    for (const p of assigned) {
      const offset = this.#committedOffsets.get(p)
      if (offset !== undefined && this.#stores.has(p))
        this.#consumer.seek({ topic: this.#config.inputTopic, partition: p, offset })
    }
    const fresh = [...assigned]
      .filter((p) => !this.#stores.has(p) && !this.#restoring.has(p))
      .sort((a, b) => a - b)
    this.#log.info({ assigned: [...assigned], restoring: fresh }, 'partitions assigned')
    // Partitions paused after a fencing are ours again.
    this.#consumer.resume([{ topic: this.#config.inputTopic, partitions: [...assigned] }])
    this.#assigned = assigned
    const revoking = this.#delivery.onRevoked(revoked)
    if (fresh.length > 0) this.#restore(fresh, revoking)
  }

  /**
   * Takes over partitions: (exactly once) fences their previous owner, then restores their lineage
   * state, retrying with back-off until it succeeds or they are no longer ours. Never falls back
   * to empty state: a partition waits for its state rather than derive without it.
   */
  #restore(partitions: readonly number[], after: Promise<void> = Promise.resolve()): void {
    const attempt = async (): Promise<void> => {
      await after.catch(() => undefined)
      for (let n = 0; ; n++) {
        const mine = partitions.filter((p) => this.#assigned.has(p))
        if (mine.length === 0 || this.#stopping) return
        try {
          await this.#inTurns(mine, async () => {
            await this.#delivery.onAssigned(mine) // exactly once: fences the previous owner first
            if (this.#delivery instanceof ExactlyOnce) await this.#seekToCommitted(mine)
          })
          const stores =
            this.#bounds !== undefined
              ? new Map(mine.map((p) => [p, new MemoryLineageStore(this.#now)])) // replay: its warm-up rebuilds state
              : await restoreLineage(
                  this.#deps.kafka,
                  this.#deps.admin,
                  {
                    topic: this.#config.changelogTopic,
                    partitions: mine,
                    groupId: this.#config.groupId,
                    timeoutMs: 300_000,
                    now: this.#now,
                  },
                  this.#log,
                )
          for (const [p, s] of stores) if (this.#assigned.has(p)) this.#stores.set(p, s)
          return
        } catch (e) {
          const wait = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(n, 5))
          this.#log.warn(
            { err: e, partitions: mine, attempt: n, waitMs: wait },
            'lineage restore failed; retrying',
          )
          await sleep(wait)
        }
      }
    }
    const settled = attempt().finally(() => {
      for (const p of partitions) if (this.#restoring.get(p) === settled) this.#restoring.delete(p)
    })
    for (const p of partitions) this.#restoring.set(p, settled)
  }

  /**
   * Exactly once: the offsets the consumer fetched when it joined may predate the previous owner's
   * last transaction (kafkajs's OffsetFetch has no KIP-447 `require_stable`, so a transaction
   * still completing is not waited for). Initialising the partitions' transactional ids (just
   * done) completes or aborts that transaction; the committed offsets read now are final, and the
   * consumer seeks there (a batch fetched from the older offset goes stale and is skipped).
   */
  async #seekToCommitted(partitions: readonly number[]): Promise<void> {
    const topic = this.#config.inputTopic
    const [committed] = await this.#deps.admin.fetchOffsets({
      groupId: this.#config.groupId,
      topics: [topic],
    })
    for (const { partition, offset } of committed?.partitions ?? []) {
      if (partitions.includes(partition) && Number(offset) >= 0) {
        this.#consumer.seek({ topic, partition, offset })
        this.#committedOffsets.set(partition, offset)
      }
    }
  }

  /** Runs `work` in the partition's turn: after the work queued before it has settled. */
  async #inTurn<T>(partition: number, work: () => Promise<T>): Promise<T> {
    const before = this.#turns.get(partition) ?? Promise.resolve()
    const run = before.then(work)
    const settled = run.then(
      () => undefined,
      () => undefined,
    )
    this.#turns.set(partition, settled)
    try {
      return await run
    } finally {
      if (this.#turns.get(partition) === settled) this.#turns.delete(partition)
    }
  }

  /** `work` in the turns of all `partitions` at once (taken in ascending order: no deadlock). */
  #inTurns(partitions: readonly number[], work: () => Promise<void>): Promise<void> {
    return [...partitions]
      .sort((a, b) => b - a)
      .reduce<() => Promise<void>>((inner, p) => () => this.#inTurn(p, inner), work)()
  }

  /**
   * Exactly once: the messages past the partition's settled committed offset. A batch fetched
   * before the consumer sought there (kafkajs applies a seek at the next fetch of the partition's
   * broker, and a batch fetched earlier is not always marked stale) holds messages whose events
   * a committed transaction already published.
   */
  #unsettled(partition: number, messages: readonly BatchMessage[]): readonly BatchMessage[] {
    const committed = this.#committedOffsets.get(partition)
    if (committed === undefined) return messages
    const i = firstFrom(messages, BigInt(committed))
    if (i === 0) return messages // the usual case: the whole batch, not copied
    return i < 0 ? [] : messages.slice(i)
  }

  /** The partition's state, once restored; waits (heart-beating) while a restore runs. */
  async #storeFor(
    partition: number,
    heartbeat: () => Promise<void>,
  ): Promise<MemoryLineageStore | undefined> {
    if (!this.#stores.has(partition) && !this.#restoring.has(partition)) {
      // Assigned without a GROUP_JOIN seen for it (should not happen): restore it now.
      this.#assigned.add(partition)
      this.#restore([partition])
    }
    const restoring = this.#restoring.get(partition)
    if (restoring !== undefined) {
      const done = restoring.then(() => true)
      while (!(await Promise.race([done, sleep(2_000).then(() => false)]))) {
        if (this.#stopping) return undefined // a stop does not wait for a restore
        await heartbeat().catch(() => undefined)
      }
    }
    return this.#stores.get(partition) // undefined: no longer ours
  }

  /**
   * Idle entries of a partition to tombstone with its next batch: a sweep at most once per
   * `sweepEveryMs`, which goes on batch after batch while it finds more than one batch's share.
   */
  #idle(partition: number, store: MemoryLineageStore): LineageKey[] {
    const now = this.#now()
    const last = this.#lastSweep.get(partition)
    if (last === undefined) this.#lastSweep.set(partition, now) // first batch after a restore: sweep next time
    if (last === undefined || now - last < sweepEveryMs(this.#config.lineageTtlMs)) return []
    const idle = store.idle(now - this.#config.lineageTtlMs, TOMBSTONES_PER_BATCH)
    if (idle.length < TOMBSTONES_PER_BATCH) this.#lastSweep.set(partition, now)
    return idle
  }

  /** The batch's messages within a bounded run's end offset. */
  #within(partition: number, messages: readonly BatchMessage[]): readonly BatchMessage[] {
    const end = this.#bounds?.stopAt.get(partition)
    if (end === undefined) return messages
    const i = firstFrom(messages, end)
    return i < 0 ? messages : messages.slice(0, i)
  }

  #reached(partition: number, lastOffset: string): void {
    const end = this.#bounds?.stopAt.get(partition)
    if (end === undefined || BigInt(lastOffset) + 1n < end) return
    this.#pendingPartitions.delete(partition)
    if (this.#pendingPartitions.size === 0) this.#finish?.()
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    if (batch.isEmpty()) return
    const partition = batch.partition
    const messages = this.#within(partition, batch.messages)
    if (messages.length === 0) {
      payload.pause() // a replay past its end offset: nothing more to read here
      return
    }
    const lastOffset = (messages[messages.length - 1] as { offset: string }).offset
    const heartbeat = () => payload.heartbeat()
    const store = await this.#storeFor(partition, heartbeat)
    if (store === undefined) return // revoked while restoring
    const expired = this.#idle(partition, store)
    const started = performance.now()
    for (let attempt = 0; ; attempt++) {
      if (!payload.isRunning() || payload.isStale()) return
      try {
        await this.#inTurn(partition, async () => {
          // Superseded: the partition was taken over (revoked, restarted) since the batch began.
          if (this.#stores.get(partition) !== store) return
          const todo = this.#unsettled(partition, messages)
          if (todo.length === 0) return
          const emitFrom = this.#bounds?.emitFrom.get(partition)
          const result = await processBatch(partition, todo, store, this.#ctx, expired, emitFrom)
          await this.#delivery.deliver(result.records, payload, lastOffset)
          if (this.#delivery instanceof ExactlyOnce)
            this.#committedOffsets.set(partition, String(BigInt(lastOffset) + 1n))
          result.commit()
          this.#count(result.stats, expired.length)
          this.#observe(payload, result.stats, started)
          this.#bounds?.onProgress?.(this.counters.messages)
          this.#reached(partition, lastOffset)
        })
        return
      } catch (e) {
        if (e instanceof AssetstreamError && e.code === 'producer_fenced') {
          this.#log.warn(
            { partition },
            'fenced by another instance: pausing the partition until the group reassigns it',
          )
          this.#stores.delete(partition)
          payload.pause()
          return
        }
        if (e instanceof AssetstreamError && e.context.commitOutcomeUnknown === true) {
          this.#restartAfterUnknownCommit(payload, e)
          return
        }
        if (!isRetriable(e)) throw e
        this.counters.retries++
        this.#metrics.retry()
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
        await this.#pause(wait, heartbeat, () => payload.isRunning())
      }
    }
  }

  /**
   * A transaction's commit got no answer: retrying the batch could publish it twice. The partition
   * starts over as if newly assigned: a fresh transactional producer settles the transaction, the
   * consumer seeks to the committed offset, and the lineage state is restored from the changelog
   * (which holds the batch's writes exactly when its transaction committed). A replay keeps its
   * lineage in memory only, with nothing to restore it from: it fails, and can run again.
   */
  #restartAfterUnknownCommit(payload: EachBatchPayload, e: AssetstreamError): void {
    const partition = payload.batch.partition
    this.#log.warn(
      { partition, offset: payload.batch.firstOffset() },
      'commit outcome unknown: restarting the partition from its committed offset',
    )
    this.counters.retries++
    this.#metrics.retry()
    if (this.#bounds !== undefined) {
      this.#fatal?.(
        new AssetstreamError(
          'publish_failed',
          `${e.message}; a replay keeps its lineage state in memory only, so it stops here: run it again`,
          { cause: e },
        ),
      )
      payload.pause()
      return
    }
    this.#stores.delete(partition)
    this.#committedOffsets.delete(partition)
    this.#restore([partition])
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

  #observe(payload: EachBatchPayload, stats: BatchStats, started: number): void {
    const { batch } = payload
    const m = this.#metrics
    const now = this.#now()
    m.messagesConsumed(batch.partition, stats.messages)
    for (const [event, n] of Object.entries(stats.events))
      m.eventsPublished(event as EventName, n ?? 0)
    for (const [code, n] of Object.entries(stats.deadLetters)) m.deadLetters(code, n ?? 0)
    if (stats.unknownUpstreams > 0) m.unknownUpstreams(stats.unknownUpstreams)
    for (const msg of batch.messages)
      m.messageLatency(Math.max(0, now - Number(msg.timestamp)) / 1000)
    m.batchDuration((performance.now() - started) / 1000)
    m.consumerLag(batch.partition, Math.max(0, Number(batch.offsetLag())))
  }

  #count(stats: BatchStats, expired: number): void {
    const c = this.counters
    c.batches++
    c.messages += stats.messages
    for (const n of Object.values(stats.events)) c.events += n ?? 0
    for (const n of Object.values(stats.deadLetters)) c.deadLetters += n ?? 0
    c.unknownUpstreams += stats.unknownUpstreams
    c.expired += expired
  }
}
