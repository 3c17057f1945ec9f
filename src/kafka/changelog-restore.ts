/**
 * Restoring lineage state from the compacted changelog topic for the input partitions an instance
 * is assigned (changelog partition p holds the state of input partition p).
 *
 * kafkajs has no manual partition assignment, so the restore reads through a consumer of its own,
 * alone in a throwaway group that commits nothing and is deleted afterwards; it keeps the records
 * of the wanted partitions and stops when each reached the end offset taken at the start.
 */
import { randomUUID } from 'node:crypto'
import { parseChangelogKey, parseChangelogValue } from '../state/changelog-codec.js'
import { MemoryLineageStore } from '../state/memory-lineage-store.js'
import type { Logger } from '../logger.js'
import type { Admin, Kafka } from './kafkajs.js'

export interface RestoreOptions {
  readonly topic: string
  readonly partitions: readonly number[]
  readonly groupId: string
  readonly timeoutMs: number
  /** The clock of the restored stores (lineage idle time). */
  readonly now: () => number
}

export async function restoreLineage(
  kafka: Kafka,
  admin: Admin,
  options: RestoreOptions,
  logger: Logger,
): Promise<Map<number, MemoryLineageStore>> {
  const stores = new Map<number, MemoryLineageStore>(
    options.partitions.map((p) => [p, new MemoryLineageStore(options.now)]),
  )
  const offsets = await admin.fetchTopicOffsets(options.topic)
  /** partition → the offset of the last record to read. */
  const pending = new Map<number, bigint>()
  for (const o of offsets) {
    if (stores.has(o.partition) && BigInt(o.high) > BigInt(o.low))
      pending.set(o.partition, BigInt(o.high) - 1n)
  }
  if (pending.size === 0) return stores

  const started = Date.now()
  const groupId = `${options.groupId}.restore.${randomUUID()}`
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false })
  let records = 0
  try {
    await consumer.connect()
    await consumer.subscribe({ topic: options.topic, fromBeginning: true })
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `lineage restore of ${options.topic} did not finish in ${options.timeoutMs} ms`,
            ),
          ),
        options.timeoutMs,
      )
      // Progress comes from kafkajs's batch events, which also report batches holding only
      // transaction markers or aborted records (never handed to eachBatch): a changelog written
      // in transactions may end with a marker.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const last = pending.get(payload.partition)
        if (last === undefined || BigInt(payload.lastOffset) < last) return
        pending.delete(payload.partition)
        if (pending.size === 0) {
          clearTimeout(timer)
          resolve()
        }
      })
      consumer
        .run({
          autoCommit: false,
          eachBatch: (payload) => {
            const { batch } = payload
            const last = pending.get(batch.partition)
            const store = stores.get(batch.partition)
            if (last === undefined || store === undefined) {
              payload.pause() // another instance's partition, or one already restored
              return Promise.resolve()
            }
            for (const m of batch.messages) {
              if (BigInt(m.offset) > last) break
              const key = m.key === null ? undefined : parseChangelogKey(m.key)
              if (key === undefined) continue
              const assets = m.value === null ? undefined : parseChangelogValue(m.value)
              if (assets === undefined) store.delete(key.flowRunId, key.taskRunId)
              else store.set({ ...key, propagates: assets }, Number(m.timestamp)) // idle time survives restarts
              records++
            }
            return Promise.resolve()
          },
        })
        .catch(reject)
    })
    await done
  } finally {
    await consumer.disconnect().catch(() => undefined)
    await admin.deleteGroups([groupId]).catch(() => undefined)
  }
  logger.info(
    { topic: options.topic, partitions: options.partitions, records, ms: Date.now() - started },
    'restored lineage state',
  )
  return stores
}
