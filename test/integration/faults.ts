/**
 * The fault-injection harness: a stream of ≥10,000 lifecycle messages over 4 partitions, produced
 * while processors run and a fault strikes, then checked with a read_committed consumer against
 * what `derive` gives for the same input.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect } from 'vitest'
import registryPkg from '@kafkajs/confluent-schema-registry'
import { generateMessages } from '../../src/bench/workload.js'
import { LIFECYCLE_SCHEMA_FILE, loadSchema } from '../../src/codec/avro-schemas.js'
import { lifecycleToAvro } from '../../src/codec/lifecycle-encode.js'
import { valueSubject } from '../../src/codec/registry.js'
import { frame } from '../../src/codec/wire.js'
import type { Guarantee } from '../../src/config/config.js'
import { HEADERS } from '../../src/pipeline/batch.js'
import { deriveAll } from './expected.js'
import {
  BROKERS,
  consumeUntil,
  createTopic,
  deleteRunTopics,
  EventReader,
  header,
  names,
  partitionsOf,
  ProcessorProcess,
  produce,
  REGISTRY_URL,
  retrying,
  waitFor,
  withAdmin,
  type Names,
} from './support.js'

const run = promisify(execFile)

export const STACK = fileURLToPath(new URL('../../stack/stack.sh', import.meta.url))
/** Runs a stack command without blocking the test's own clients (its input producer goes on). */
export async function stack(...command: string[]): Promise<void> {
  const { stdout, stderr } = await run('bash', [STACK, ...command])
  process.stderr.write(stdout + stderr)
}
const KAFKA_LIB = fileURLToPath(new URL('../../.stack/kafka/lib/', import.meta.url))
const READ_COMMITTED_JAVA = fileURLToPath(new URL('./java/ReadCommitted.java', import.meta.url))

/** "topic partition offset" of every record Kafka's own Java consumer reads read_committed. */
async function readCommittedWithJava(topics: readonly string[]): Promise<string[]> {
  const { stdout } = await run(
    'java',
    ['-cp', `${KAFKA_LIB}*`, READ_COMMITTED_JAVA, BROKERS.join(','), ...topics],
    { maxBuffer: 64 * 1024 * 1024 },
  )
  return stdout.split('\n').filter((line) => /^\S+ \d+ \d+$/.test(line))
}

export const registryPid = (): number =>
  Number(
    readFileSync(
      fileURLToPath(new URL('../../.stack/registry/registry.pid', import.meta.url)),
      'utf8',
    ).trim(),
  )

export interface Scenario {
  readonly n: Names
  readonly guarantee: Guarantee
  /** Starts a processor instance of the scenario's group. */
  start(extraEnv?: Record<string, string>): ProcessorProcess
  /** Messages of the input committed by the group so far. */
  committed(): Promise<number>
  /** Resolves once `share` of the input is committed. */
  progress(share: number): Promise<void>
  readonly total: number
  /** Lets the producer go on past `holdAt`. */
  release(): void
}

export interface FaultOptions {
  readonly label: string
  readonly guarantee: Guarantee
  readonly messages?: number
  readonly seed?: number
  /** Messages from this index on are Avro (Confluent wire format, schema registered first). */
  readonly avroFrom?: number
  /** The producer stops before this index until the scenario calls `release()`. */
  readonly holdAt?: number
  /** Extra environment of every instance. */
  readonly env?: Record<string, string>
  /** Runs the processors and the fault; returns the instances still running at the end. */
  readonly during: (s: Scenario) => Promise<ProcessorProcess[]>
}

export interface FaultOutcome {
  readonly records: number
  readonly expected: number
  readonly duplicates: number
}

export async function runFaultScenario(o: FaultOptions): Promise<FaultOutcome> {
  const n = names(o.label)
  const all: ProcessorProcess[] = []
  // The input producer runs beside the scenario; a failing scenario stops it and waits for it, so
  // it never outlives the test (it would write to topics the clean-up deletes).
  let producing: Promise<void> = Promise.resolve()
  let abandoned = false
  let release: () => void = () => undefined
  try {
    await createTopic(n.input, 4)
    const input = generateMessages({ messages: o.messages ?? 10_000, seed: o.seed ?? 5 })
    const expected = deriveAll(input.map((m) => m.value)).events
    // Lineage must cross task runs: some events inherit upstream assets through task_inputs.
    const inherited = input.filter(
      (m) => Object.keys(m.value.task_run.task_inputs ?? {}).length > 0,
    ).length
    expect(inherited).toBeGreaterThan(1000)

    let avro: ((m: (typeof input)[number]) => Buffer) | undefined
    if (o.avroFrom !== undefined) {
      const lifecycle = loadSchema(LIFECYCLE_SCHEMA_FILE)
      const { SchemaRegistry, SchemaType } = registryPkg
      const { id } = await new SchemaRegistry({ host: REGISTRY_URL }).register(
        { type: SchemaType.AVRO, schema: lifecycle.text },
        { subject: valueSubject(n.input) },
      )
      avro = (m) =>
        frame(
          id,
          lifecycle.type.toBuffer(lifecycleToAvro(m.value as unknown as Record<string, unknown>)),
        )
    }
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const committed = () =>
      withAdmin(async (admin) => {
        const [t] = await admin.fetchOffsets({ groupId: n.group, topics: [n.input] })
        return (t?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0)
      })
    const scenario: Scenario = {
      n,
      guarantee: o.guarantee,
      total: input.length,
      committed,
      release: () => release(),
      start: (extraEnv = {}) => {
        const p = new ProcessorProcess(n, {
          ASSETSTREAM_GUARANTEE: o.guarantee,
          ...o.env,
          ...extraEnv,
        })
        all.push(p)
        return p
      },
      progress: async (share) => {
        await waitFor(
          `${Math.round(share * 100)}% of the input committed`,
          async () => ((await committed()) >= share * input.length ? true : undefined),
          180_000,
          200,
        )
      },
    }
    // The stream arrives over time while the processors run: 500 messages every 300 ms.
    const ends = new Map<number, bigint>()
    producing = (async () => {
      for (let i = 0; i < input.length && !abandoned; i += 500) {
        if (o.holdAt !== undefined && i >= o.holdAt) await released
        const chunk = input.slice(i, i + 500).map((m, j) => ({
          key: m.key,
          value:
            avro !== undefined && i + j >= (o.avroFrom ?? Infinity)
              ? avro(m)
              : JSON.stringify(m.value),
        }))
        await sendEachOnce(n.input, chunk, ends)
        await sleep(300)
      }
    })()
    // Handled now, so a failure while the scenario runs is not an unhandled rejection; it is
    // still the test's failure where the producer is awaited below.
    producing.catch(() => undefined)
    const running = await o.during(scenario)
    await producing
    await waitFor(
      'the whole input committed',
      async () => ((await committed()) >= input.length ? true : undefined),
      240_000,
      500,
    )
    for (const p of running) expect(await p.stop(90_000), p.logs.slice(-3000)).toBe(0)

    // A read_committed consumer (kafkajs's default) over the event topics and the DLQ.
    const records = await consumeUntil(
      [...n.eventTopics, n.dlq],
      (got) => got.length >= expected.length,
      120_000,
    )
    // The kafkajs reader read exactly what Kafka's own Java consumer reads: no aborted record let
    // through (kafkajs 2.2.4 did, see src/kafka/read-committed-fix.ts), none missed.
    const java = await readCommittedWithJava([...n.eventTopics, n.dlq])
    const read = records.map((r) => `${r.topic} ${r.partition} ${r.offset}`)
    const [inJava, inKafkajs] = [new Set(java), new Set(read)]
    expect({
      onlyKafkajs: read.filter((x) => !inJava.has(x)).slice(0, 5),
      onlyJava: java.filter((x) => !inKafkajs.has(x)).slice(0, 5),
    }).toEqual({ onlyKafkajs: [], onlyJava: [] })
    expect(read.length).toBe(java.length)

    const reader = new EventReader()
    const byId = new Map<string, string>()
    const where = new Map<string, string>()
    const duplicated: string[] = []
    let duplicates = 0
    for (const r of records) {
      expect(r.topic, 'nothing goes to the DLQ in a fault scenario').not.toBe(n.dlq)
      const e = await reader.decode(r, n.prefix)
      const text = JSON.stringify(e)
      const seen = byId.get(e.id)
      const at = `${r.topic.slice(n.prefix.length)}/${r.partition}@${r.offset} from input ${header(r.message, HEADERS.sourcePartition)}@${header(r.message, HEADERS.sourceOffset)}`
      if (seen !== undefined) {
        duplicates++
        if (duplicated.length < 5) duplicated.push(`${e.id}: ${where.get(e.id)} and ${at}`)
        expect(text, 'a duplicate is the same event').toBe(seen)
      }
      byId.set(e.id, text)
      where.set(e.id, at)
      expect(header(r.message, HEADERS.eventId)).toBe(e.id)
    }
    const wrong = expected.filter((e) => byId.get(e.id) !== JSON.stringify(e))
    expect(wrong.slice(0, 3), `${wrong.length} expected events missing or different`).toEqual([])
    expect(byId.size).toBe(expected.length)
    if (o.guarantee === 'exactly-once')
      expect(duplicates, `exactly once: no duplicate event id; ${duplicated.join('; ')}`).toBe(0)
    return { records: records.length, expected: expected.length, duplicates }
  } finally {
    abandoned = true
    release()
    await producing.catch(() => undefined) // its failure, if any, is already the test's failure
    for (const p of all)
      if (p.child.exitCode === null && p.child.signalCode === null) await p.kill9()
    // ASSETSTREAM_TEST_KEEP_TOPICS=1 keeps a run's topics for a look with Kafka's own tools.
    if (process.env.ASSETSTREAM_TEST_KEEP_TOPICS !== '1') await deleteRunTopics(n.run)
  }
}

type Input = { readonly key: string; readonly value: Buffer | string }

/**
 * Sends input so that each message lands once, even across a broker outage. The harness is the
 * topic's only writer and `ends` holds each partition's end offset after its acknowledged sends:
 * after a failed send, the end offsets say how many of the chunk's messages of each partition (a
 * prefix, in order) landed, and only the rest is sent again. A blind resend would duplicate input
 * whose acknowledgement was lost, and the duplicates would look like the processor's.
 */
async function sendEachOnce(
  topic: string,
  chunk: readonly Input[],
  ends: Map<number, bigint>,
): Promise<void> {
  const partitions = await partitionsOf(
    topic,
    chunk.map((m) => m.key),
  )
  let pending = chunk.map((m, i) => ({ ...m, partition: partitions[i] as number }))
  for (let attempt = 1; pending.length > 0; attempt++) {
    try {
      await produce(topic, pending)
      for (const m of pending) ends.set(m.partition, (ends.get(m.partition) ?? 0n) + 1n)
      return
    } catch (e) {
      if (attempt >= 30) throw e
      await sleep(1_000)
      const offsets = await retrying(() => withAdmin((admin) => admin.fetchTopicOffsets(topic)))
      const landed = new Map<number, bigint>()
      for (const { partition, high } of offsets) {
        const count = BigInt(high) - (ends.get(partition) ?? 0n)
        const sent = BigInt(pending.filter((m) => m.partition === partition).length)
        if (count < 0n || count > sent)
          throw new Error(
            `partition ${partition} of ${topic} ends at ${high}: not the harness's writes alone`,
          )
        landed.set(partition, count)
        ends.set(partition, BigInt(high))
      }
      const before = pending.length
      pending = pending.filter((m) => {
        const left = landed.get(m.partition) ?? 0n
        landed.set(m.partition, left - 1n)
        return left <= 0n
      })
      process.stderr.write(
        `[harness] input send failed (${(e as Error).message}); ${before - pending.length} of ${before} landed, sending ${pending.length} again\n`,
      )
    }
  }
}
