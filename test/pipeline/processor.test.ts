/**
 * The Kafka processor with fake kafkajs clients (no broker): what it produces for a batch, that an
 * offset is resolved only after the batch's records were sent, retries, and crash handling. The
 * integration tier runs the same processor against the real broker.
 */
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { loadEventSchemas } from '../../src/codec/avro-schemas.js'
import { EventEncoder, type RegisteredSchema } from '../../src/codec/event-codec.js'
import type { WriterSchemas } from '../../src/codec/lifecycle-decode.js'
import { loadConfig } from '../../src/config/config.js'
import type { EventName } from '../../src/derive/types.js'
import { Processor, type ReplayBounds } from '../../src/kafka/processor.js'
import type { Admin, EachBatchPayload, Kafka } from '../../src/kafka/kafkajs.js'
import { createLogger } from '../../src/logger.js'
import { HEADERS } from '../../src/pipeline/batch.js'
import { materializing, message } from '../helpers/messages.js'

const EVENTS = {
  GROUP_JOIN: 'consumer.group_join',
  CRASH: 'consumer.crash',
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
}

interface Sent {
  topic: string
  messages: {
    key: unknown
    value: unknown
    headers?: Record<string, unknown>
    partition?: number
  }[]
}

/** Just enough of kafkajs for the processor: a consumer that hands us its eachBatch, a producer that records. */
function fakeKafka(
  options: { failSends?: number; firstSendWaitsFor?: Promise<void> | undefined } = {},
) {
  const consumer = Object.assign(new EventEmitter(), {
    events: EVENTS,
    eachBatch: undefined as ((p: EachBatchPayload) => Promise<void>) | undefined,
    connect: () => Promise.resolve(consumer.emit(EVENTS.CONNECT)),
    subscribe: () => Promise.resolve(),
    run: (o: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
      consumer.eachBatch = o.eachBatch
      return Promise.resolve()
    },
    disconnect: () => Promise.resolve(),
    resume: () => undefined,
    pause: () => undefined,
  })
  const log: string[] = []
  const sent: Sent[] = []
  let failures = options.failSends ?? 0
  const producer = {
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    sendBatch: async ({ topicMessages }: { topicMessages: Sent[] }) => {
      const wait = options.firstSendWaitsFor
      options.firstSendWaitsFor = undefined
      if (wait !== undefined) await wait
      if (failures > 0) {
        failures--
        log.push('send failed')
        return Promise.reject(Object.assign(new Error('broker gone'), { retriable: true }))
      }
      sent.push(...topicMessages)
      log.push(`sent ${topicMessages.reduce((n, t) => n + t.messages.length, 0)}`)
      return Promise.resolve([])
    },
  }
  const kafka = { consumer: () => consumer, producer: () => producer } as unknown as Kafka
  return { kafka, consumer, sent, log }
}

const schemas = new Map<EventName, RegisteredSchema>(
  [...loadEventSchemas()].map(([e, s], i) => [e, { ...s, id: i + 1 }]),
)
const noRegistry: WriterSchemas = {
  lifecycleReader: () => Promise.reject(new Error('no Avro input here')),
}
const CONFIG_ENV = { ASSETSTREAM_INPUT_TOPIC: 'in', ASSETSTREAM_TOPIC_PREFIX: 'p.' }
const { config } = loadConfig(CONFIG_ENV, [])

function payloadOf(partition: number, values: unknown[], log: string[]): EachBatchPayload {
  const messages = values.map((v, i) => ({
    offset: String(10 + i),
    key: Buffer.from('fr'),
    value: Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)),
    timestamp: String(Date.now()),
    headers: {},
    attributes: 0,
  }))
  const batch = {
    topic: 'in',
    partition,
    messages,
    highWatermark: String(10 + values.length),
    isEmpty: () => messages.length === 0,
    firstOffset: () => messages[0]?.offset ?? null,
    lastOffset: () => messages[messages.length - 1]?.offset ?? '9',
    offsetLag: () => '0',
  }
  return {
    batch,
    resolveOffset: (o: string) => void log.push(`resolved ${o}`),
    heartbeat: () => Promise.resolve(),
    commitOffsetsIfNecessary: () => Promise.resolve(void log.push('committed')),
    isRunning: () => true,
    isStale: () => false,
    pause: () => () => undefined,
    uncommittedOffsets: () => ({ topics: [] }),
  } as unknown as EachBatchPayload
}

interface StartOptions {
  readonly config?: typeof config
  readonly now?: () => number
  readonly bounds?: ReplayBounds | undefined
  /** The group's committed offsets, as the admin client's fetchOffsets answers them. */
  readonly fetchOffsets?: () => Promise<unknown>
  readonly stopStepMs?: number
}

async function started(kafka: Kafka, options: StartOptions = {}) {
  const processor = new Processor(
    options.config ?? config,
    {
      now: options.now ?? Date.now,
      kafka,
      admin: {
        // An empty changelog: restores end at once, with no consumer of their own.
        fetchTopicOffsets: () =>
          Promise.resolve(
            [0, 1, 2, 3].map((partition) => ({ partition, offset: '0', high: '0', low: '0' })),
          ),
        fetchOffsets: options.fetchOffsets,
      } as unknown as Admin,
      encoder: new EventEncoder(schemas),
      schemas: noRegistry,
      logger: createLogger('silent'),
      ...(options.stopStepMs === undefined ? {} : { stopStepMs: options.stopStepMs }),
    },
    options.bounds,
  )
  await processor.start()
  return processor
}

/**
 * An exactly-once processor on partition 2 (committed offset 10) after one batch at offset 10,
 * whose transaction commit lands; by default its answer is lost with the broker.
 */
async function eosAfterOneBatch(
  options: {
    bounds?: ReplayBounds
    answered?: boolean
    offsetsSettleLate?: boolean
    /** Later commits wait for it, then log 'committed'. */
    laterCommitsWaitFor?: Promise<void>
  } = {},
) {
  const { bounds, answered = false, offsetsSettleLate = false, laterCommitsWaitFor } = options
  const fake = fakeKafka()
  const log: string[] = []
  let committed = '10' // the group's committed offset of partition 2
  let commits = 0
  const producer = {
    connect: () => Promise.resolve(void log.push('init transactional id')),
    disconnect: () => Promise.resolve(),
    transaction: () =>
      Promise.resolve({
        sendBatch: ({ topicMessages }: { topicMessages: Sent[] }) => {
          log.push(`sent ${topicMessages.reduce((n, t) => n + t.messages.length, 0)}`)
          return Promise.resolve([])
        },
        sendOffsets: () => Promise.resolve(),
        commit: async () => {
          if (commits > 0 && laterCommitsWaitFor !== undefined) {
            await laterCommitsWaitFor
            committed = String(Number(committed) + 1)
            log.push('committed')
            commits++
            return
          }
          // The first commit reaches the coordinator, but its answer is lost with the broker.
          if (!offsetsSettleLate) committed = '11'
          if (commits++ === 0 && !answered)
            return Promise.reject(
              Object.assign(new Error('Closed connection'), { retriable: true }),
            )
          return Promise.resolve()
        },
        abort: () => Promise.reject(new Error('the transaction is already committed')),
      }),
  }
  const kafka = {
    consumer: () =>
      Object.assign(fake.consumer, {
        seek: (s: { offset: string }) => void log.push(`seek ${s.offset}`),
      }),
    producer: () => producer,
  } as unknown as Kafka
  const processor = await started(kafka, {
    config: loadConfig({ ...CONFIG_ENV, ASSETSTREAM_GUARANTEE: 'exactly-once' }, []).config,
    bounds,
    fetchOffsets: () =>
      Promise.resolve([{ topic: 'in', partitions: [{ partition: 2, offset: committed }] }]),
  })
  fake.consumer.emit(EVENTS.GROUP_JOIN, {
    payload: { memberId: 'm1', memberAssignment: { in: [2] } },
  })
  await fake.consumer.eachBatch?.(payloadOf(2, [materializing({})], fake.log))
  await new Promise((r) => setTimeout(r, 50)) // the partition's restart (restore) runs
  return { processor, log, fake }
}

describe('the processor without a broker', () => {
  it('stops even when leaving the group never finishes (kafkajs after a broker restart)', async () => {
    const fake = fakeKafka()
    fake.consumer.disconnect = () => new Promise<void>(() => undefined)
    let producersClosed = false
    const processor = await started(fake.kafka, { stopStepMs: 50 })
    const producer = (fake.kafka.producer as () => { disconnect: () => Promise<void> })()
    producer.disconnect = () => Promise.resolve(void (producersClosed = true))
    await processor.stop()
    expect(producersClosed, 'the next step ran').toBe(true)
  })

  it('starts when the broker the producer asks for its id refuses at first (a killed broker still in the metadata)', async () => {
    const fake = fakeKafka()
    const producer = (fake.kafka.producer as () => { connect: () => Promise<void> })()
    let refusals = 2
    producer.connect = () => {
      fake.log.push('producer connect')
      if (refusals-- > 0)
        return Promise.reject(
          Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:19093'), { retriable: true }),
        )
      return Promise.resolve()
    }
    await started(fake.kafka)
    expect(fake.log).toEqual(['producer connect', 'producer connect', 'producer connect'])
  })

  it('fails to start on a producer error no retry can help', async () => {
    const fake = fakeKafka()
    const producer = (fake.kafka.producer as () => { connect: () => Promise<void> })()
    producer.connect = () => Promise.reject(new Error('not authorized'))
    await expect(started(fake.kafka)).rejects.toThrow('not authorized')
  })

  it('produces events, dead letters and lineage, then resolves and commits the offset', async () => {
    const fake = fakeKafka()
    const processor = await started(fake.kafka)
    fake.consumer.emit(EVENTS.GROUP_JOIN, {
      payload: { memberId: 'm1', memberAssignment: { in: [3] } },
    })
    const values = [
      materializing({ materializes: ['s3://lake/a'] }, { task_run: { id: 'A' } }),
      '{broken',
      message({ task_run: { id: 'B', task_inputs: { x: [{ input_type: 'task_run', id: 'A' }] } } }),
    ]
    await fake.consumer.eachBatch?.(payloadOf(3, values, fake.log))
    expect(fake.log).toEqual(['sent 4', 'resolved 12', 'committed'])
    const byTopic = Object.fromEntries(fake.sent.map((t) => [t.topic, t.messages]))
    expect(Object.keys(byTopic).sort()).toEqual([
      'assetstream-lineage-changelog',
      'in.dlq',
      'p.prefect.asset.materialization.succeeded',
    ])
    expect(byTopic['in.dlq']?.[0]?.headers?.[HEADERS.errorCode]).toBe('invalid_message')
    expect(byTopic['in.dlq']?.[0]?.headers?.[HEADERS.sourceOffset]).toBe('11')
    // The plain task B inherited s3://lake/a from A within the batch; both are in the changelog, on the input's partition.
    expect(byTopic['assetstream-lineage-changelog']?.map((m) => [m.key, m.partition])).toEqual([
      ['["9cd8f7d8-6b25-5a91-967b-fb75f3f0d539","A"]', 3],
      ['["9cd8f7d8-6b25-5a91-967b-fb75f3f0d539","B"]', 3],
    ])
    expect(JSON.parse(String(byTopic['assetstream-lineage-changelog']?.[1]?.value))).toEqual({
      v: 1,
      assets: [{ key: 's3://lake/a' }],
    })
    expect(processor.counters).toMatchObject({ messages: 3, events: 1, deadLetters: 1, batches: 1 })
    expect(processor.lineageSize().entries).toBe(2)
  })

  it('retries a batch whose records could not be sent, and resolves only once they are', async () => {
    const fake = fakeKafka({ failSends: 2 })
    const processor = await started(fake.kafka)
    fake.consumer.emit(EVENTS.GROUP_JOIN, {
      payload: { memberId: 'm1', memberAssignment: { in: [0] } },
    })
    await fake.consumer.eachBatch?.(payloadOf(0, [materializing({})], fake.log))
    expect(fake.log).toEqual(['send failed', 'send failed', 'sent 2', 'resolved 10', 'committed'])
    expect(processor.counters.retries).toBe(2)
    // The retried batch derived the same events once: no lineage applied twice, one event.
    expect(
      fake.sent
        .flatMap((t) => t.messages)
        .filter((m) => typeof m.headers?.[HEADERS.eventId] === 'string'),
    ).toHaveLength(1)
  })

  it('sends the batches that arrive while a request is in flight together, each resolved once acknowledged', async () => {
    let release = () => undefined as void
    const fake = fakeKafka({ firstSendWaitsFor: new Promise<void>((r) => (release = r)) })
    await started(fake.kafka)
    fake.consumer.emit(EVENTS.GROUP_JOIN, {
      payload: { memberId: 'm1', memberAssignment: { in: [0, 1, 2] } },
    })
    const batch = (p: number) =>
      fake.consumer.eachBatch?.(
        payloadOf(p, [materializing({}, { task_run: { id: `T${p}` } })], fake.log),
      )
    const first = batch(0)
    await new Promise((r) => setTimeout(r, 20)) // its request is in flight
    const others = [batch(1), batch(2)]
    await new Promise((r) => setTimeout(r, 20))
    expect(fake.log).toEqual([]) // nothing acknowledged, nothing resolved
    release()
    await Promise.all([first, ...others])
    // One request for the first batch, one for the two that waited; offsets only after the acks.
    expect(fake.log.slice(0, 2)).toEqual(['sent 2', 'sent 4'])
    expect(fake.log.slice(2).sort()).toEqual([
      'committed',
      'committed',
      'committed',
      'resolved 10',
      'resolved 10',
      'resolved 10',
    ])
  })

  it('tombstones idle lineage entries a bounded share per batch until the sweep is done', async () => {
    const fake = fakeKafka()
    let now = Date.parse('2026-11-27T08:00:00Z')
    const ttl = loadConfig(
      { ...CONFIG_ENV, ASSETSTREAM_LINEAGE_TTL_MS: '3600000' }, // an hour
      [],
    ).config
    const processor = await started(fake.kafka, { config: ttl, now: () => now })
    fake.consumer.emit(EVENTS.GROUP_JOIN, {
      payload: { memberId: 'm1', memberAssignment: { in: [1] } },
    })
    const runs = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) =>
        materializing(
          { materializes: [`s3://lake/${from + i}`] },
          { task_run: { id: `T${from + i}` } },
        ),
      )
    await fake.consumer.eachBatch?.(payloadOf(1, runs(0, 2_500), fake.log))
    now += 30 * 60_000
    await fake.consumer.eachBatch?.(payloadOf(1, runs(2_500, 10), fake.log)) // not idle yet
    expect(processor.lineageSize().entries).toBe(2_510)
    const tombstones = () =>
      fake.sent
        .splice(0)
        .flatMap((t) => t.messages)
        .filter((m) => m.value === null).length
    tombstones()
    now += 31 * 60_000 // the first 2,500 are idle for more than the hour, the last 10 are not
    const perBatch: number[] = []
    for (let b = 0; b < 4; b++) {
      await fake.consumer.eachBatch?.(payloadOf(1, runs(10_000 + b, 1), fake.log))
      perBatch.push(tombstones())
    }
    expect(perBatch).toEqual([1_000, 1_000, 500, 0]) // the sweep ended; the next is a minute away
    expect(processor.counters.expired).toBe(2_500)
    expect(processor.lineageSize().entries).toBe(14)
  })

  it('sweeps a short TTL every tenth of it', async () => {
    const fake = fakeKafka()
    let now = Date.parse('2026-11-27T08:00:00Z')
    const ttl = loadConfig({ ...CONFIG_ENV, ASSETSTREAM_LINEAGE_TTL_MS: '20000' }, []).config
    const processor = await started(fake.kafka, { config: ttl, now: () => now })
    fake.consumer.emit(EVENTS.GROUP_JOIN, {
      payload: { memberId: 'm1', memberAssignment: { in: [0] } },
    })
    const batch = (id: string) =>
      fake.consumer.eachBatch?.(
        payloadOf(
          0,
          [materializing({ materializes: [`s3://lake/${id}`] }, { task_run: { id } })],
          fake.log,
        ),
      )
    await batch('A') // written at 0 s
    now += 19_000
    await batch('B') // A is not idle yet
    now += 2_000
    await batch('C') // A idle 21 s > 20 s, and the last sweep was 2 s ago
    expect(processor.counters.expired).toBe(1)
    expect(processor.lineageSize().entries).toBe(2)
  })

  it('exactly once: a commit without an answer restarts the partition from its committed offset, never sending the batch twice', async () => {
    const { processor, log } = await eosAfterOneBatch()
    expect(log).toEqual([
      'init transactional id', // assignment
      'seek 10',
      'sent 2', // the batch's event and changelog record; the commit gets no answer
      'init transactional id', // a fresh producer settles the transaction…
      'seek 11', // …which committed: the consumer goes on after the batch
    ])
    expect(processor.counters.retries).toBe(1)
    expect(processor.notReady()).toBeUndefined() // restored, ready again
  })

  it('exactly once: a batch fetched before the consumer sought past it publishes nothing', async () => {
    // kafkajs applies a seek at the next fetch from the partition's broker; a batch fetched from
    // the old position is not always marked stale, and reaches the processor after the restart.
    const { log, fake } = await eosAfterOneBatch()
    expect(log.at(-1)).toBe('seek 11')
    await fake.consumer.eachBatch?.(payloadOf(2, [materializing({})], fake.log))
    expect(log.slice(5)).toEqual([]) // offset 10 was committed: nothing sent, no transaction
  })

  it('exactly once: a new owner fences the partition only after the transaction in flight ends', async () => {
    let release: () => void = () => undefined
    const gate = new Promise<void>((r) => (release = r))
    const { log, fake } = await eosAfterOneBatch({ answered: true, laterCommitsWaitFor: gate })
    const inFlight = fake.consumer.eachBatch?.(
      payloadOf(2, [materializing({}), materializing({})], fake.log), // offsets 10 (done) and 11
    )
    await new Promise((r) => setTimeout(r, 20))
    // The consumer restarted under a new member id: everything held is taken over afresh.
    fake.consumer.emit(EVENTS.GROUP_JOIN, {
      payload: { memberId: 'm2', memberAssignment: { in: [2] } },
    })
    await new Promise((r) => setTimeout(r, 20))
    expect(log.slice(3)).toEqual(['sent 2']) // offset 11's records; its commit waits
    release()
    await inFlight
    await new Promise((r) => setTimeout(r, 50))
    // The new owner reads the offset that transaction committed.
    expect(log.slice(3)).toEqual(['sent 2', 'committed', 'init transactional id', 'seek 12'])
  })

  it('exactly once in a replay: a commit without an answer stops the replay (its lineage is in memory only)', async () => {
    const none = new Map<number, bigint>()
    const { processor, log } = await eosAfterOneBatch({
      bounds: { startAt: none, emitFrom: none, stopAt: new Map([[2, 100n]]) },
    })
    await expect(processor.failed).rejects.toMatchObject({ code: 'publish_failed' })
    await expect(processor.failed).rejects.toThrow(/run it again/)
    expect(log.filter((l) => l.startsWith('sent'))).toEqual(['sent 1']) // the event (no changelog), once
  })

  it('exactly once: after a rebalance that keeps a partition, the consumer resumes after its own last commit', async () => {
    // The group's committed offsets still read 10: the last transaction's markers are not written
    // yet, and kafkajs re-reads committed offsets after every rebalance (no KIP-447 require_stable).
    const { log, fake } = await eosAfterOneBatch({ answered: true, offsetsSettleLate: true })
    expect(log).toEqual(['init transactional id', 'seek 10', 'sent 2'])
    fake.consumer.emit(EVENTS.GROUP_JOIN, {
      payload: { memberId: 'm1', memberAssignment: { in: [2] } },
    })
    expect(log.slice(3)).toEqual(['seek 11'])
  })

  it('fails, unready and not alive, when the consumer crashes for good; ready again after a restartable crash once it rejoins', async () => {
    const fake = fakeKafka()
    const processor = await started(fake.kafka)
    expect(processor.notReady()).toBe('not in the consumer group yet')
    fake.consumer.emit(EVENTS.GROUP_JOIN, {
      payload: { memberId: 'm1', memberAssignment: { in: [] } },
    })
    expect(processor.notReady()).toBeUndefined()
    // A restartable crash, as kafkajs runs it: disconnect, crash, later a join under a new member
    // id and no CONNECT event.
    fake.consumer.emit(EVENTS.DISCONNECT)
    fake.consumer.emit(EVENTS.CRASH, { payload: { error: new Error('transient'), restart: true } })
    expect(processor.alive()).toBe(true)
    expect(processor.notReady()).toBe('not connected to the broker')
    fake.consumer.emit(EVENTS.GROUP_JOIN, {
      payload: { memberId: 'm2', memberAssignment: { in: [] } },
    })
    expect(processor.notReady()).toBeUndefined()
    fake.consumer.emit(EVENTS.CRASH, { payload: { error: new Error('fatal'), restart: false } })
    await expect(processor.failed).rejects.toMatchObject({ code: 'consumer_crashed' })
    expect(processor.alive()).toBe(false)
    expect(processor.notReady()).toBe('the consumer crashed')
  })
})
