/**
 * kafkajs's producer retry path, as fixed by src/kafka/send-messages-fix.ts, on a fake cluster of
 * two brokers whose partition leader moves: the cases the replicated-cluster fault tests hit.
 * Each case also runs kafkajs 2.2.4's own sendMessages, to show what it did.
 */
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { createSendMessages } from '../../../src/kafka/send-messages-fix.js'
// The kafkajs adapter installs the fix before kafkajs loads.
import '../../../src/kafka/kafkajs.js'
import { originalKafkajsModule } from '../../helpers/kafkajs-original.js'

const require = createRequire(import.meta.url)
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as {
  createErrorFromCode: (code: number) => Error
}
const createRetry = require('kafkajs/src/retry/index.js') as (options: object) => unknown

/** kafkajs 2.2.4's sendMessages as shipped (the fix replaces it in the module cache). */
const originalSendMessages = () =>
  originalKafkajsModule<typeof createSendMessages>('src/producer/sendMessages.js')

const NOT_LEADER = 6

interface Produced {
  readonly broker: number
  readonly partition: number
  readonly values: string[]
  readonly firstSequence: number
}

/**
 * Partitions 0 and 1 of topic `t`, led by brokers 1 and 2; `behaviour` says how broker n answers
 * its k-th request (0-based), and `moves` which leaders change once metadata is refreshed.
 */
function fakeCluster(options: {
  behaviour: (broker: number, request: number) => Promise<void>
  leaders: Record<number, number>
  leadersAfterRefresh: Record<number, number>
}) {
  let leaders = { ...options.leaders }
  const produced: Produced[] = []
  const requests = new Map<number, number>()
  const sequences = new Map<number, number>()
  const broker = (nodeId: number) => ({
    nodeId,
    async produce({
      topicData,
    }: {
      topicData: {
        topic: string
        partitions: { partition: number; firstSequence: number; messages: { value: string }[] }[]
      }[]
    }) {
      const k = requests.get(nodeId) ?? 0
      requests.set(nodeId, k + 1)
      await options.behaviour(nodeId, k)
      for (const { partitions } of topicData)
        for (const p of partitions)
          produced.push({
            broker: nodeId,
            partition: p.partition,
            values: p.messages.map((m) => m.value),
            firstSequence: p.firstSequence,
          })
      return {
        topics: topicData.map(({ topic, partitions }) => ({
          topicName: topic,
          partitions: partitions.map((p) => ({
            partition: p.partition,
            errorCode: 0,
            baseOffset: '0',
          })),
        })),
      }
    },
  })
  const brokers = new Map([1, 2].map((n) => [n, broker(n)]))
  const cluster = {
    targetTopics: new Set<string>(),
    refreshMetadataIfNecessary: () => Promise.resolve(),
    refreshMetadata: () => {
      leaders = { ...options.leadersAfterRefresh }
      return Promise.resolve()
    },
    addMultipleTargetTopics: () => Promise.resolve(),
    findTopicPartitionMetadata: () =>
      Object.entries(leaders).map(([p, leader]) => ({ partitionId: Number(p), leader })),
    findBroker: ({ nodeId }: { nodeId: number }) => {
      const b = brokers.get(Number(nodeId)) // kafkajs passes object keys (strings)
      return b === undefined ? Promise.reject(new Error(`no broker ${nodeId}`)) : Promise.resolve(b)
    },
    // kafkajs's own findLeaderForPartitions, used by its sendMessages
    findLeaderForPartitions: (_topic: string, partitions: string[]) => {
      const out: Record<number, number[]> = {}
      for (const p of partitions.map(Number)) (out[leaders[p] as number] ??= []).push(p)
      return out
    },
    removeBroker: () => undefined,
    isConnected: () => true,
    connect: () => Promise.resolve(),
  }
  const eosManager = {
    acquireBrokerLock: () => Promise.resolve(),
    releaseBrokerLock: () => undefined,
    isTransactional: () => false,
    addPartitionsToTransaction: () => Promise.resolve(),
    getSequence: (_t: string, p: number) => sequences.get(p) ?? 0,
    updateSequence: (_t: string, p: number, n: number) =>
      sequences.set(p, (sequences.get(p) ?? 0) + n),
    getTransactionalId: () => 'x',
    getProducerId: () => 1,
    getProducerEpoch: () => 0,
  }
  const quiet = {
    debug: () => undefined,
    error: () => undefined,
    info: () => undefined,
    warn: () => undefined,
  }
  const deps = {
    logger: quiet,
    cluster,
    eosManager,
    partitioner: ({ message }: { message: { partition?: number } }) => message.partition as number,
    retrier: createRetry({ retries: 5, initialRetryTime: 1, maxRetryTime: 5 }) as never,
  }
  return { deps, produced }
}

const messages = [
  {
    topic: 't',
    messages: [
      { value: 'a', partition: 0 },
      { value: 'b', partition: 1 },
      { value: 'c', partition: 1 },
    ],
  },
]
const send = (create: typeof createSendMessages, deps: ReturnType<typeof fakeCluster>['deps']) =>
  (create(deps as never) as (a: object) => Promise<unknown[]>)({
    acks: -1,
    topicMessages: messages,
  })
const valuesOf = (produced: Produced[]) => produced.flatMap((p) => p.values).sort()
const notLeader = () => Promise.reject(createErrorFromCode(NOT_LEADER))
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

describe('kafkajs producer retries after a leader move (fixed)', () => {
  it('is the module kafkajs producers use', () => {
    expect(require('kafkajs/src/producer/sendMessages.js')).toBe(createSendMessages)
  })

  // Broker 2 answers NOT_LEADER_OR_FOLLOWER: partition 1 moved to broker 1, which already answered.
  const leaderMoved = () =>
    fakeCluster({
      behaviour: (b, k) => (b === 2 && k === 0 ? notLeader() : Promise.resolve()),
      leaders: { 0: 1, 1: 2 },
      leadersAfterRefresh: { 0: 1, 1: 1 },
    })

  it('sends the moved partition to its new leader, even one that already answered', async () => {
    const { deps, produced } = leaderMoved()
    const acks = await send(createSendMessages, deps)
    expect(valuesOf(produced)).toEqual(['a', 'b', 'c'])
    expect(produced.find((p) => p.partition === 1)).toMatchObject({ broker: 1, firstSequence: 0 })
    expect(acks).toHaveLength(2)
  })

  it('kafkajs 2.2.4 skipped it and reported success', async () => {
    const { deps, produced } = leaderMoved()
    await send(originalSendMessages(), deps)
    expect(valuesOf(produced)).toEqual(['a'])
  })

  // Broker 2 fails at once while broker 1's request is still in flight.
  const slowSibling = () =>
    fakeCluster({
      behaviour: (b, k) =>
        b === 2 && k === 0 ? notLeader() : b === 1 && k === 0 ? sleep(50) : Promise.resolve(),
      leaders: { 0: 1, 1: 2 },
      leadersAfterRefresh: { 0: 1, 1: 2 },
    })

  it('sends nothing again while a request of the attempt is in flight', async () => {
    const { deps, produced } = slowSibling()
    await send(createSendMessages, deps)
    expect(valuesOf(produced)).toEqual(['a', 'b', 'c'])
    // the retried partition carries the sequence numbers of its failed request
    expect(produced.find((p) => p.partition === 1)?.firstSequence).toBe(0)
  })

  it('kafkajs 2.2.4 sent the in-flight partition again with new sequence numbers', async () => {
    const { deps, produced } = slowSibling()
    await send(originalSendMessages(), deps)
    await sleep(80)
    const copies = produced.filter((p) => p.partition === 0)
    expect(copies.map((p) => p.firstSequence)).toEqual([1, 0])
  })

  it('waits for a leader when the metadata has none', async () => {
    const { deps, produced } = fakeCluster({
      behaviour: () => Promise.resolve(),
      leaders: { 0: 1, 1: -1 },
      leadersAfterRefresh: { 0: 1, 1: 2 },
    })
    await send(createSendMessages, deps)
    expect(produced.map((p) => [p.broker, p.partition])).toEqual([
      [1, 0],
      [2, 1],
    ])
  })
})
