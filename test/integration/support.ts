/**
 * Helpers of the integration tier: a real Kafka broker and a real schema registry (the local
 * stack), the processor as a real child process of the built CLI, bounded polling waits.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll } from 'vitest'
import { loadEventSchemas } from '../../src/codec/avro-schemas.js'
import { decodeEvent } from '../../src/codec/event-codec.js'
import { Registry } from '../../src/codec/registry.js'
import { unframe } from '../../src/codec/wire.js'
import { toJsonForm, type JsonFormEvent } from '../../src/derive/json-form.js'
import { EVENT_NAMES, type EventName } from '../../src/derive/types.js'
import {
  createKafka,
  Partitioners,
  type Admin,
  type Kafka,
  type KafkaMessage,
} from '../../src/kafka/kafkajs.js'
import { createLogger } from '../../src/logger.js'

export const BROKERS = (process.env.ASSETSTREAM_TEST_BROKERS ?? '127.0.0.1:9092').split(',')
/** Replication factor of the topics the tests and their processors create (3 on the cluster). */
export const REPLICATION_FACTOR = Number(process.env.ASSETSTREAM_TEST_REPLICATION_FACTOR ?? '1')
export const REGISTRY_URL =
  process.env.ASSETSTREAM_TEST_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7'
const CLI = new URL('../../dist/cli.js', import.meta.url).pathname

export const quietLogger = createLogger('silent')
export const kafka: Kafka = createKafka(
  { brokers: BROKERS, clientId: 'assetstream-test' },
  quietLogger,
)

/**
 * Unique names for the tests of one file, whose topics are deleted after the file (call at the
 * top level of the file).
 */
export function namesDeletedAfterAll(): (label: string) => Names {
  const runs: Names[] = []
  afterAll(async () => {
    for (const n of runs) await deleteRunTopics(n.run)
  })
  return (label) => {
    const n = names(label)
    runs.push(n)
    return n
  }
}

/** Unique names for one test: its own topics and consumer group. */
export function names(label: string) {
  const run = `it-${label}-${randomUUID().slice(0, 8)}`
  return {
    run,
    input: `${run}.task-run-lifecycle`,
    prefix: `${run}.`,
    group: `${run}-group`,
    dlq: `${run}.task-run-lifecycle.dlq`,
    eventTopics: EVENT_NAMES.map((e) => `${run}.${e}`),
  }
}
export type Names = ReturnType<typeof names>

/** Polls until `check` returns a value other than undefined; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 250,
): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/**
 * Retries a test-side Kafka call for a while: after a broker restart, coordinators and partition
 * leaders take seconds to settle, and kafkajs admin calls do not always retry that themselves.
 */
export async function retrying<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    try {
      return await fn()
    } catch (e) {
      if (Date.now() > until) throw e
      await sleep(500)
    }
  }
}

export async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  return retrying(async () => {
    const admin = kafka.admin()
    await admin.connect()
    try {
      return await fn(admin)
    } finally {
      await admin.disconnect()
    }
  })
}

export async function createTopic(topic: string, partitions: number): Promise<void> {
  await withAdmin((admin) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: partitions, replicationFactor: REPLICATION_FACTOR }],
    }),
  )
}

/** Deletes every topic of a test run (its names start with the run id). */
export async function deleteRunTopics(run: string): Promise<void> {
  await withAdmin(async (admin) => {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(run))
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 })
  })
}

export interface Produced {
  readonly partition: number
  readonly offset: string
}

/** Produces values in order, each with its key; returns where each one landed. */
export async function produce(
  topic: string,
  messages: readonly { key: string | null; value: Buffer | string }[],
  batchSize = 500,
): Promise<Produced[]> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  })
  await producer.connect()
  const out: Produced[] = []
  try {
    for (let i = 0; i < messages.length; i += batchSize) {
      const chunk = messages.slice(i, i + batchSize)
      const meta = await producer.send({
        topic,
        acks: -1,
        messages: chunk.map((m) => ({ key: m.key, value: m.value })),
      })
      // kafkajs reports one base offset per partition; messages of a partition are consecutive in order.
      const next = new Map(meta.map((r) => [r.partition, BigInt(r.baseOffset ?? '0')]))
      const partitionOf = await partitionsOf(
        topic,
        chunk.map((m) => m.key),
      )
      for (const p of partitionOf) {
        const o = next.get(p) as bigint
        out.push({ partition: p, offset: String(o) })
        next.set(p, o + 1n)
      }
    }
  } finally {
    await producer.disconnect()
  }
  return out
}

let partitionCountCache = new Map<string, number>()
/** The partitions the default partitioner gives keyed messages of a topic. */
export async function partitionsOf(
  topic: string,
  keys: readonly (string | null)[],
): Promise<number[]> {
  let n = partitionCountCache.get(topic)
  if (n === undefined) {
    n = await withAdmin(
      async (admin) =>
        (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.length ?? 1,
    )
    partitionCountCache = new Map(partitionCountCache).set(topic, n)
  }
  const partitioner = Partitioners.DefaultPartitioner()
  const partitionMetadata = Array.from({ length: n }, (_, i) => ({
    partitionId: i,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }))
  return keys.map((key) => {
    if (key === null) throw new Error('tests produce keyed messages only, so partitions are known')
    return partitioner({ topic, partitionMetadata, message: { key, value: null } })
  })
}

export interface Consumed {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  readonly message: KafkaMessage
}

/**
 * Reads topics from the beginning with a read_committed consumer until `enough(all)` holds, then on
 * to the end offsets the topics have at that moment, and returns everything read: a record
 * already written is never left unread (a count alone can be reached early, with duplicates).
 */
export async function consumeUntil(
  topics: readonly string[],
  enough: (all: readonly Consumed[]) => boolean,
  timeoutMs = 90_000,
): Promise<Consumed[]> {
  const consumer = kafka.consumer({
    groupId: `reader-${randomUUID()}`,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  })
  const all: Consumed[] = []
  // Per partition, the offset after the last one fetched, control records and aborted data
  // included (kafkajs reports batches holding only those too).
  const position = new Map<string, bigint>()
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    position.set(`${payload.topic}/${payload.partition}`, BigInt(payload.lastOffset) + 1n)
  })
  await consumer.connect()
  try {
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: ({ topic, partition, message }) => {
        all.push({ topic, partition, offset: message.offset, message })
        return Promise.resolve()
      },
    })
    await waitFor(
      `${topics.join(', ')} to hold what the test expects (read ${all.length} records so far)`,
      () => (enough(all) ? true : undefined),
      timeoutMs,
    )
    const ends = await withAdmin(async (admin) =>
      (await Promise.all(topics.map((t) => admin.fetchTopicOffsets(t)))).flatMap((offsets, i) =>
        offsets.map((o) => ({ partition: `${topics[i]}/${o.partition}`, end: BigInt(o.high) })),
      ),
    )
    await waitFor(
      'every partition read to its end offset',
      () => (ends.every((p) => (position.get(p.partition) ?? 0n) >= p.end) ? true : undefined),
      timeoutMs,
    )
    return all
  } finally {
    await consumer.disconnect()
  }
}

/** Decodes event records through the registry into their JSON form (SPEC §2.5). */
export class EventReader {
  readonly #registry = new Registry(REGISTRY_URL)
  readonly #readers = loadEventSchemas()

  async decode(record: Consumed, prefix: string): Promise<JsonFormEvent> {
    const event = record.topic.slice(prefix.length) as EventName
    const reader = this.#readers.get(event)
    if (reader === undefined) throw new Error(`not an event topic: ${record.topic}`)
    const value = record.message.value as Buffer
    const framed = unframe(value)
    if (framed === undefined)
      throw new Error(
        `record ${record.topic}/${record.partition}@${record.offset} is not in the wire format`,
      )
    const writer = await this.#registry.typeById(framed.schemaId)
    return toJsonForm(decodeEvent(value, writer, reader.type))
  }
}

export const header = (m: KafkaMessage, name: string): string | undefined => {
  const v = m.headers?.[name]
  if (v === undefined) return undefined
  return Array.isArray(v) ? String(v[0]) : String(v)
}

/** The processor as a child process of the built CLI. */
export class ProcessorProcess {
  readonly child: ChildProcess
  #stderr = ''
  readonly exited: Promise<number | null>

  constructor(n: Names, extraEnv: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [CLI, 'run'], {
      env: {
        ...process.env,
        ASSETSTREAM_BROKERS: BROKERS.join(','),
        ASSETSTREAM_REGISTRY_URL: REGISTRY_URL,
        ASSETSTREAM_INPUT_TOPIC: n.input,
        ASSETSTREAM_TOPIC_PREFIX: n.prefix,
        ASSETSTREAM_GROUP_ID: n.group,
        ASSETSTREAM_LOG_LEVEL: process.env.ASSETSTREAM_TEST_LOG_LEVEL ?? 'info',
        ASSETSTREAM_REPLICATION_FACTOR: String(REPLICATION_FACTOR),
        ASSETSTREAM_METRICS_PORT: '0', // several instances at once: each takes a free port
        ...extraEnv,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    this.child.stderr?.setEncoding('utf8')
    // ASSETSTREAM_TEST_LOG_DIR keeps every instance's whole log, for looking into a failure.
    const logDir = process.env.ASSETSTREAM_TEST_LOG_DIR
    if (logDir !== undefined) mkdirSync(logDir, { recursive: true })
    const logFile =
      logDir === undefined ? undefined : join(logDir, `${n.group}-${this.child.pid ?? 0}.log`)
    this.child.stderr?.on('data', (d: string) => {
      if (logFile !== undefined) appendFileSync(logFile, d)
      this.#stderr += d
      if (this.#stderr.length > 2_000_000) this.#stderr = this.#stderr.slice(-1_000_000)
    })
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)))
  }

  get logs(): string {
    return this.#stderr
  }

  /** The port of the ops endpoint (/metrics, /healthz, /readyz), from the start-up log. */
  opsPort(): number | undefined {
    const m = /"port":(\d+)[^\n]*ops endpoint listening/.exec(this.logs)
    return m === null ? undefined : Number(m[1])
  }

  /** Waits until the processor's log says it started (it then consumes). */
  async started(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      'the processor to start',
      () => {
        if (this.child.exitCode !== null)
          throw new Error(`processor exited ${this.child.exitCode}:\n${this.logs.slice(-4000)}`)
        return this.logs.includes('"processor started"') ? true : undefined
      },
      timeoutMs,
    )
  }

  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    return Promise.race([
      this.exited,
      sleep(timeoutMs).then(() => {
        this.child.kill('SIGKILL')
        throw new Error(
          `processor did not stop within ${timeoutMs} ms; its last log lines:\n${this.logs.slice(-6000)}`,
        )
      }),
    ])
  }

  async kill9(): Promise<void> {
    this.child.kill('SIGKILL')
    await this.exited
  }
}
