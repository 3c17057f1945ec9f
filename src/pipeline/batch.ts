/**
 * A batch of one input partition through decode → validate → derive → encode → route: the records
 * to produce (events, dead letters, lineage changelog) and the lineage change to keep once they are
 * acknowledged. No Kafka here: the runner produces the records and commits; the pipeline tests run
 * this with in-memory parts.
 */
import type { EventEncoder } from '../codec/event-codec.js'
import { decodeLifecycle, type WriterSchemas } from '../codec/lifecycle-decode.js'
import type { DeriveOptions } from '../derive/derive.js'
import type { EventName } from '../derive/types.js'
import type { Rejection } from '../derive/validate.js'
import { AssetstreamError, isInputErrorCode } from '../errors.js'
import { changelogKey, changelogValue } from '../state/changelog-codec.js'
import {
  OverlayLineageStore,
  type LineageKey,
  type MemoryLineageStore,
} from '../state/memory-lineage-store.js'
import { processValue } from './process.js'

export interface InputMessage {
  readonly offset: string
  readonly key: Buffer | null
  readonly value: Buffer | null
}

export interface OutputRecord {
  readonly topic: string
  /** Set for the changelog (co-partitioned with the input); else the key's partition. */
  readonly partition?: number
  readonly key: Buffer | string | null
  readonly value: Buffer | string | null
  readonly headers: Record<string, string>
}

export interface BatchContext {
  readonly inputTopic: string
  readonly dlqTopic: string
  /** Where lineage changes are written; undefined keeps them in memory only (replay). */
  readonly changelogTopic: string | undefined
  readonly eventTopic: (e: EventName) => string
  readonly encoder: EventEncoder
  readonly schemas: WriterSchemas
  readonly derive: DeriveOptions
  /** Wall-clock time, for the dead letters' failure time. */
  readonly now: () => Date
}

export interface BatchStats {
  readonly messages: number
  readonly events: Partial<Record<EventName, number>>
  readonly deadLetters: Partial<Record<string, number>>
  readonly unknownUpstreams: number
}

export interface BatchResult {
  readonly records: OutputRecord[]
  readonly stats: BatchStats
  /** Keeps the batch's lineage changes; call once its records are acknowledged. */
  readonly commit: () => void
}

/** Header names of event records and dead letters (README "Records"). */
export const HEADERS = {
  eventId: 'assetstream.event.id',
  messageId: 'assetstream.source.message.id',
  sourceTopic: 'assetstream.source.topic',
  sourcePartition: 'assetstream.source.partition',
  sourceOffset: 'assetstream.source.offset',
  errorCode: 'assetstream.error.code',
  errorMessage: 'assetstream.error.message',
  errorPath: 'assetstream.error.path',
  failedAt: 'assetstream.failed.at',
} as const

function deadLetter(
  ctx: BatchContext,
  partition: number,
  m: InputMessage,
  error: { code: string; message: string; path?: string },
): OutputRecord {
  const headers: Record<string, string> = {
    [HEADERS.errorCode]: error.code,
    [HEADERS.errorMessage]: error.message,
    [HEADERS.sourceTopic]: ctx.inputTopic,
    [HEADERS.sourcePartition]: String(partition),
    [HEADERS.sourceOffset]: m.offset,
    [HEADERS.failedAt]: ctx.now().toISOString(),
  }
  if (error.path !== undefined) headers[HEADERS.errorPath] = error.path
  return { topic: ctx.dlqTopic, key: m.key, value: m.value, headers }
}

/**
 * Processes the messages of one partition in order; `expired` lineage entries are removed with
 * it (tombstones in the changelog). Messages before `emitFrom` (replay's warm-up) only rebuild
 * lineage: their events and dead letters are not produced. Throws only retriable errors (the registry is
 * unreachable): the caller retries the whole batch; nothing of it was kept. Any other failure on a
 * message — bad input or a bug — becomes a dead letter, so no partition stalls.
 */
export async function processBatch(
  partition: number,
  messages: readonly InputMessage[],
  store: MemoryLineageStore,
  ctx: BatchContext,
  expired: readonly LineageKey[] = [],
  emitFrom?: bigint,
): Promise<BatchResult> {
  const overlay = new OverlayLineageStore(store)
  for (const k of expired) overlay.remove(k) // idle entries: tombstoned with this batch
  const records: OutputRecord[] = []
  const events: Partial<Record<EventName, number>> = {}
  const deadLetters: Partial<Record<string, number>> = {}
  let unknownUpstreams = 0
  let emit = true
  const reject = (m: InputMessage, r: Rejection | { code: string; message: string }): void => {
    if (!emit) return
    records.push(deadLetter(ctx, partition, m, r))
    deadLetters[r.code] = (deadLetters[r.code] ?? 0) + 1
  }

  for (const m of messages) {
    emit = emitFrom === undefined || BigInt(m.offset) >= emitFrom
    if (m.value === null || m.value.length === 0) {
      reject(m, { code: 'invalid_message', message: 'message has no value', path: '$' })
      continue
    }
    const decoded = await decodeLifecycle(m.value, ctx.schemas) // throws only when retriable
    if (!decoded.ok) {
      reject(m, decoded.rejection)
      continue
    }
    try {
      const outcome = processValue(decoded.value, overlay, ctx.derive)
      if (!outcome.ok) {
        reject(m, outcome.rejection)
        continue
      }
      if (!emit) continue
      unknownUpstreams += outcome.unknownUpstreams
      const provenance = {
        [HEADERS.messageId]: outcome.message.id,
        [HEADERS.sourceTopic]: ctx.inputTopic,
        [HEADERS.sourcePartition]: String(partition),
        [HEADERS.sourceOffset]: m.offset,
      }
      for (const e of outcome.events) {
        records.push({
          topic: ctx.eventTopic(e.event),
          key: e.resource['prefect.resource.id'] as string,
          value: ctx.encoder.encode(e),
          headers: { [HEADERS.eventId]: e.id, ...provenance },
        })
        events[e.event] = (events[e.event] ?? 0) + 1
      }
    } catch (e) {
      if (e instanceof AssetstreamError && !isInputErrorCode(e.code) && e.retriable) throw e
      reject(m, {
        code: 'internal_error',
        message: `the processor failed on this message: ${(e as Error).message}`,
      })
    }
  }

  const changelog = ctx.changelogTopic
  if (changelog !== undefined) {
    for (const c of overlay.changes()) {
      records.push({
        topic: changelog,
        partition,
        key: changelogKey(c.flowRunId, c.taskRunId),
        value: changelogValue(c.propagates),
        headers: {},
      })
    }
  }
  return {
    records,
    stats: { messages: messages.length, events, deadLetters, unknownUpstreams },
    commit: () => overlay.commit(),
  }
}
