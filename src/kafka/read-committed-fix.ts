/**
 * A fix for kafkajs 2.2.4's read_committed filter, installed before kafkajs loads (the kafkajs
 * adapter imports this module first).
 *
 * A fetch response lists the partition's aborted transactions that overlap the fetched range, in
 * the order the broker aborted them. kafkajs walks that list assuming it is ordered by first
 * offset: when a transaction that began earlier was aborted later than another one (two producers'
 * transactions open across a broker restart), kafkajs never enters it and hands its records to
 * the application as if committed. The fault suite saw exactly that: every event of an aborted
 * batch twice, once from the aborted transaction, while Kafka's own tools (`DumpLogSegments` on
 * the transaction index) showed it aborted. The processor reads the lineage changelog
 * read_committed through kafkajs too, so this is a correctness fix, not a test aid.
 *
 * The replacement walks the aborted transactions in order of first offset, as the Java consumer does
 * (a priority queue), and takes only control records as abort markers (kafkajs also took a data
 * record whose key is four zero bytes for one).
 */
import { replaceKafkajsModule } from './kafkajs-module.js'

interface FetchedMessage {
  readonly offset: string
  readonly key: Buffer | null
  readonly isControlRecord?: boolean
  readonly batchContext: { readonly producerId: string; readonly inTransaction: boolean }
}

interface AbortedTransaction {
  readonly producerId: string
  readonly firstOffset: string
}

/** The key of an abort marker: control record version 0, type 0 (ABORT). */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0])

/** The messages of a fetched partition that are not part of an aborted transaction. */
export function filterAbortedMessages<M extends FetchedMessage>({
  messages,
  abortedTransactions,
}: {
  messages: M[]
  abortedTransactions?: readonly AbortedTransaction[] | null
}): M[] {
  if (abortedTransactions == null || abortedTransactions.length === 0) return messages
  const pending = abortedTransactions
    .map((t) => ({ producerId: t.producerId, firstOffset: BigInt(t.firstOffset) }))
    .sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
  const aborted = new Set<string>()
  let next = 0
  return messages.filter((m) => {
    const offset = BigInt(m.offset)
    for (let t = pending[next]; t !== undefined && t.firstOffset <= offset; t = pending[++next])
      aborted.add(t.producerId)
    const { producerId, inTransaction } = m.batchContext
    if (m.isControlRecord === true) {
      if (m.key !== null && ABORT_MARKER_KEY.equals(m.key)) aborted.delete(producerId)
      return true // kafkajs drops control records itself, after this filter
    }
    return !(inTransaction && aborted.has(producerId))
  })
}

replaceKafkajsModule(
  'src/consumer/filterAbortedMessages.js',
  'src/consumer/batch.js',
  'readCommittedFix',
  filterAbortedMessages,
)
