/**
 * kafkajs's read_committed filter, as fixed by src/kafka/read-committed-fix.ts: the case is the
 * event partition the broker-restart fault test left behind (offsets and producer ids as
 * `DumpLogSegments` showed them), where kafkajs 2.2.4 returned an aborted transaction's records.
 */
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { filterAbortedMessages } from '../../../src/kafka/read-committed-fix.js'
// The kafkajs adapter installs the fix before kafkajs loads; Batch below is kafkajs's own.
import '../../../src/kafka/kafkajs.js'

const ABORT = Buffer.from([0, 0, 0, 0])
const COMMIT = Buffer.from([0, 0, 0, 1])

const record = (offset: number, producerId: string, key: Buffer = Buffer.from('k')) => ({
  offset: String(offset),
  key,
  value: Buffer.from('v'),
  isControlRecord: false,
  batchContext: { producerId, inTransaction: true },
})
const marker = (offset: number, producerId: string, key: Buffer) => ({
  ...record(offset, producerId, key),
  isControlRecord: true,
})
const range = (from: number, to: number, producerId: string) =>
  Array.from({ length: to - from + 1 }, (_, i) => record(from + i, producerId))

// Two transactions aborted across a broker restart; the one that began first was aborted last.
const messages = [
  ...range(36, 38, '18025'), // aborted
  ...range(39, 42, '18024'), // aborted
  ...range(43, 48, '18022'), // committed later
  marker(49, '18024', ABORT),
  marker(50, '18025', ABORT),
  ...range(51, 53, '18025'), // the retried batch, committed
  marker(54, '18025', COMMIT),
]
// The broker lists aborted transactions in the order it aborted them, not by first offset.
const abortedTransactions = [
  { producerId: '18024', firstOffset: '39' },
  { producerId: '18025', firstOffset: '36' },
]
const offsets = (ms: readonly { offset: string; isControlRecord?: boolean }[]) =>
  ms.filter((m) => m.isControlRecord !== true).map((m) => Number(m.offset))
const committed = [43, 44, 45, 46, 47, 48, 51, 52, 53]

describe('read_committed filter', () => {
  it('drops every aborted transaction however the broker orders them', () => {
    expect(offsets(filterAbortedMessages({ messages, abortedTransactions }))).toEqual(committed)
  })

  it('is what kafkajs uses: its Batch hands over committed records only', () => {
    const Batch = createRequire(import.meta.url)('kafkajs/src/consumer/batch.js') as new (
      topic: string,
      fetchedOffset: string,
      partitionData: unknown,
    ) => { messages: { offset: string }[] }
    const batch = new Batch('events', '36', {
      partition: 2,
      highWatermark: '55',
      messages,
      abortedTransactions,
    })
    expect(offsets(batch.messages)).toEqual(committed)
  })

  it('ends an aborted transaction only at a control record', () => {
    const zeroKey = [record(1, '7'), record(2, '7', ABORT), record(3, '7'), marker(4, '7', ABORT)]
    const kept = filterAbortedMessages({
      messages: [...zeroKey, record(5, '7')],
      abortedTransactions: [{ producerId: '7', firstOffset: '1' }],
    })
    expect(offsets(kept)).toEqual([5])
  })

  it('leaves a fetch without aborted transactions as it is', () => {
    const ms = range(0, 3, '1')
    expect(filterAbortedMessages({ messages: ms, abortedTransactions: [] })).toBe(ms)
  })
})
