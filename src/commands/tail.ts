/**
 * `assetstream tail`: reads the event topics as a read_committed consumer, decodes each record
 * through the schema registry and prints the events' JSON form (SPEC §2.5), one per line — exactly
 * what `derive` prints for the same input — or a compact human view.
 *
 * Positions: the start offsets (earliest, end, or by timestamp) are taken with the admin client
 * and sought when the throwaway consumer group is joined, so the consumer starts exactly there
 * (not `admin.setOffsets`: it runs a consumer of its own per topic, 5 s each); without `--follow` the
 * end offsets (the last stable offsets) taken at start bound the read and the command exits when
 * every partition reached its end. Progress counts control records and aborted transactions too
 * (kafkajs reports batches emptied by filtering through END_BATCH_PROCESS), so a topic ending with
 * a transaction marker does not keep the command waiting. The group is deleted at exit.
 */
import { once } from 'node:events'
import { randomUUID } from 'node:crypto'
import type { Type } from 'avsc'
import { connectBroker } from '../app.js'
import { loadEventSchemas, type AvroSchema } from '../codec/avro-schemas.js'
import { decodeEvent } from '../codec/event-codec.js'
import { Registry } from '../codec/registry.js'
import { unframe } from '../codec/wire.js'
import { eventTopic, type Config } from '../config/config.js'
import { toJsonForm, type JsonFormEvent } from '../derive/json-form.js'
import { EVENT_NAMES, type EventName, type PrefectEvent } from '../derive/types.js'
import { AssetstreamError } from '../errors.js'
import type { Admin, EachBatchPayload, Kafka } from '../kafka/kafkajs.js'
import { partitionCounts } from '../kafka/topics.js'
import { createLogger, type Logger } from '../logger.js'
import type { CommandIo } from './derive.js'
import {
  lastString,
  listOption,
  loadCommandLine,
  settingsHelpFor,
  type OptionSpecs,
  type OptionValues,
} from './kafka-command.js'

const QUIET = 'warn'

export const TAIL_HELP = `Usage: assetstream tail [options]

Reads the event topics as a read_committed consumer, decodes each record through the schema
registry (the writer schema by the id in the record, this version's .avsc files as reader
schemas) and prints each event's JSON form (SPEC §2.5) to stdout, one per line: what "derive"
prints for the same input. Without --follow it stops at the end offsets taken at start and
exits 0. It reads as a throwaway consumer group "<group id>.tail.<uuid>", deleted at exit.
Logs go to stderr.

Options:
  --from beginning|end|TIME          where to start: the earliest offsets (default), the end, or
                                     the first record published at or after TIME (RFC 3339, as
                                     2026-11-27T10:00:00Z; compared with the Kafka record
                                     timestamp, the time the processor published the event)
  --event NAME                       only events of this type; repeatable or a comma-separated
                                     list (default: all five)
  --resource PREFIX                  only events whose prefect.resource.id starts with PREFIX;
                                     repeatable (any of them); alias --prefix-filter
  --format json|compact              json: the JSON form (default); compact: one line of
                                     occurred, event, resource id and related asset ids
  --follow                           keep reading new records until SIGINT or SIGTERM
  --max N                            stop after printing N events
  -h, --help                         show this help

Settings (flags override environment variables; the other settings of "run" are accepted and
ignored):
${settingsHelpFor(['brokers', 'clientId', 'groupId', 'topicPrefix', 'registryUrl', 'startupTimeoutMs', 'logLevel'], QUIET)}

Exit status: 0 done (or stopped by a signal), 1 a runtime failure or a record that could not be
decoded (it is skipped with a warning on stderr), 2 a usage or configuration error.
`

const OPTIONS: OptionSpecs = {
  from: { type: 'string' },
  event: { type: 'string', multiple: true },
  resource: { type: 'string', multiple: true },
  'prefix-filter': { type: 'string', multiple: true },
  format: { type: 'string' },
  follow: { type: 'boolean' },
  max: { type: 'string' },
}

export type StartAt =
  | { readonly kind: 'beginning' }
  | { readonly kind: 'end' }
  | { readonly kind: 'timestamp'; readonly ms: number; readonly text: string }

export interface TailOptions {
  readonly from: StartAt
  readonly events: readonly EventName[]
  readonly resourcePrefixes: readonly string[]
  readonly format: 'json' | 'compact'
  readonly follow: boolean
  readonly max: number | undefined
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/

/** An RFC 3339 timestamp as Unix milliseconds (fractions below a millisecond are dropped). */
export function parseTimestamp(text: string): number | undefined {
  const m = RFC3339.exec(text)
  if (m === null) return undefined
  const [, y, mo, d, h, mi, s, frac, , oh, om] = m
  const n = (x: string | undefined) => Number(x ?? '0')
  if (n(mo) < 1 || n(mo) > 12 || n(d) < 1 || n(h) > 23 || n(mi) > 59 || n(s) > 60) return undefined
  if (n(oh) > 23 || n(om) > 59) return undefined
  const daysInMonth = new Date(Date.UTC(n(y), n(mo), 0)).getUTCDate()
  if (n(d) > daysInMonth) return undefined
  const ms = Date.parse(
    `${y}-${mo}-${d}T${h}:${mi}:${s === '60' ? '59' : s}${(frac ?? '').slice(0, 4)}${m[8]?.toUpperCase() ?? 'Z'}`,
  )
  if (!Number.isFinite(ms)) return undefined
  return s === '60' ? ms + 1000 : ms
}

/** The command's own options, checked; every problem in one usage error. */
export function parseTailOptions(
  values: OptionValues,
  positionals: readonly string[],
): TailOptions {
  const problems: string[] = []
  if (positionals.length > 0) problems.push(`unexpected arguments: ${positionals.join(' ')}`)

  const fromText = lastString(values, 'from') ?? 'beginning'
  let from: StartAt = { kind: 'beginning' }
  if (fromText === 'end') from = { kind: 'end' }
  else if (fromText !== 'beginning') {
    const ms = parseTimestamp(fromText)
    if (ms === undefined)
      problems.push(
        `--from: expected beginning, end or an RFC 3339 timestamp (2026-11-27T10:00:00Z), got ${JSON.stringify(fromText)}`,
      )
    else from = { kind: 'timestamp', ms, text: fromText }
  }

  const named = listOption(values, 'event')
  const unknown = named.filter((e) => !(EVENT_NAMES as readonly string[]).includes(e))
  if (unknown.length > 0)
    problems.push(
      `--event: unknown event ${unknown.map((e) => JSON.stringify(e)).join(', ')} (expected ${EVENT_NAMES.join(', ')})`,
    )
  const events =
    named.length === 0 ? [...EVENT_NAMES] : EVENT_NAMES.filter((e) => named.includes(e))

  const prefixes = [...listValues(values, 'resource'), ...listValues(values, 'prefix-filter')]
  if (prefixes.some((p) => p === '')) problems.push('--resource: the prefix must not be empty')

  const formatText = lastString(values, 'format') ?? 'json'
  if (formatText !== 'json' && formatText !== 'compact')
    problems.push(`--format: expected json or compact, got ${JSON.stringify(formatText)}`)

  const maxText = lastString(values, 'max')
  let max: number | undefined
  if (maxText !== undefined) {
    max = Number(maxText)
    if (!/^\s*\d+\s*$/.test(maxText) || max < 1 || !Number.isSafeInteger(max)) {
      problems.push(`--max: expected a positive integer, got ${JSON.stringify(maxText)}`)
      max = undefined
    }
  }
  if (problems.length > 0) throw new AssetstreamError('usage', problems.join('; '), { problems })
  return {
    from,
    events,
    resourcePrefixes: prefixes,
    format: formatText === 'compact' ? 'compact' : 'json',
    follow: values.follow === true,
    max,
  }
}

/** Resource prefixes are taken whole (a resource id may contain commas). */
function listValues(values: OptionValues, name: string): string[] {
  const v = values[name]
  const raw = v === undefined ? [] : Array.isArray(v) ? v : [v]
  return raw.filter((x): x is string => typeof x === 'string')
}

const EVENT_WIDTH = Math.max(...EVENT_NAMES.map((e) => e.length))

/** The compact view: occurred, event, resource id, then the related asset ids when any. */
export function formatCompact(e: JsonFormEvent): string {
  const assets = e.related
    .filter((r) => r['prefect.resource.role'] === 'asset')
    .map((r) => r['prefect.resource.id'] ?? '')
  const line = `${e.occurred}  ${e.event.padEnd(EVENT_WIDTH)}  ${e.resource['prefect.resource.id'] ?? ''}`
  return assets.length === 0 ? line : `${line}  <- ${assets.join(', ')}`
}

export const formatEvent = (e: JsonFormEvent, format: TailOptions['format']): string =>
  format === 'compact' ? formatCompact(e) : JSON.stringify(e)

export const matchesResource = (e: JsonFormEvent, prefixes: readonly string[]): boolean =>
  prefixes.length === 0 ||
  prefixes.some((p) => (e.resource['prefect.resource.id'] ?? '').startsWith(p))

export async function runTail(argv: readonly string[], io: CommandIo): Promise<number> {
  const line = loadCommandLine(io.env, argv, OPTIONS, QUIET)
  if (line === undefined) {
    io.stdout.write(TAIL_HELP)
    return 0
  }
  const options = parseTailOptions(line.values, line.positionals)
  const logger = createLogger(line.config.logLevel)
  try {
    const broker = await connectBroker(line.config, logger)
    try {
      return await tail(line.config, options, { ...broker, logger, io })
    } finally {
      await broker.close().catch(() => undefined)
    }
  } finally {
    logger.flush()
  }
}

interface Deps {
  readonly kafka: Kafka
  readonly admin: Admin
  readonly logger: Logger
  readonly io: CommandIo
}

interface PartitionRange {
  readonly topic: string
  readonly partition: number
  readonly start: bigint
  readonly end: bigint
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`

/** The start and end offset of every partition of `topics`. */
async function ranges(
  admin: Admin,
  topics: readonly string[],
  from: StartAt,
): Promise<PartitionRange[]> {
  const out: PartitionRange[] = []
  for (const topic of topics) {
    // Admin ListOffsets is read_committed: `high` is the last stable offset.
    const offsets = await admin.fetchTopicOffsets(topic)
    const byTime =
      from.kind === 'timestamp'
        ? new Map(
            (await admin.fetchTopicOffsetsByTimestamp(topic, from.ms)).map((p) => [
              p.partition,
              BigInt(p.offset),
            ]),
          )
        : undefined
    for (const p of offsets) {
      const end = BigInt(p.high)
      const start =
        from.kind === 'beginning'
          ? BigInt(p.low)
          : from.kind === 'end'
            ? end
            : (byTime?.get(p.partition) ?? end)
      out.push({ topic, partition: p.partition, start, end })
    }
  }
  return out
}

/** Writes a chunk, waiting when the stream asks to. */
async function write(out: CommandIo['stdout'], chunk: string): Promise<void> {
  if (chunk !== '' && !out.write(chunk)) await once(out, 'drain')
}

async function tail(config: Config, options: TailOptions, deps: Deps): Promise<number> {
  const { kafka, admin, logger, io } = deps
  // Listening from the start: a signal during the set-up still deletes the group at exit.
  const signalled = io.stopSignal().then(() => ({ done: true as const }))
  const wanted = options.events.map((event) => ({ event, topic: eventTopic(config, event) }))
  const counts = await partitionCounts(
    admin,
    wanted.map((w) => w.topic),
  )
  const missing = wanted.filter((w) => !counts.has(w.topic)).map((w) => w.topic)
  const present = wanted.filter((w) => counts.has(w.topic))
  if (present.length === 0) {
    throw new AssetstreamError(
      'invalid_config',
      `no event topic to read: ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist (check --topic-prefix)`,
    )
  }
  if (missing.length > 0) logger.warn({ topics: missing }, 'event topics missing, not read')

  const eventOf = new Map(present.map((w) => [w.topic, w.event]))
  const all = await ranges(
    admin,
    present.map((w) => w.topic),
    options.from,
  )
  // Without --follow, a partition is done once the consumer's position reaches its end.
  const pending = new Map(
    all.filter((r) => options.follow || r.start < r.end).map((r) => [key(r.topic, r.partition), r]),
  )
  if (!options.follow && pending.size === 0) {
    logger.info('nothing to read between the start and the end offsets')
    return 0
  }

  const groupId = `${config.groupId}.tail.${randomUUID()}`
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 250,
  })
  // The start offsets are sought when the group is joined, before the first fetch (kafkajs applies
  // seeks at the start of a fetch; the join event is emitted synchronously before it). Only on the
  // first join: after a restart the consumer goes on from its (auto-)committed position.
  const unsought = new Map(all.map((r) => [key(r.topic, r.partition), r]))
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
      for (const partition of partitions) {
        const r = unsought.get(key(topic, partition))
        if (r === undefined) continue
        unsought.delete(key(topic, partition))
        consumer.seek({ topic, partition, offset: String(r.start) })
      }
    }
  })
  const readers = loadEventSchemas()
  const registry = new Registry(config.registryUrl)
  const decoder = new Decoder(registry)
  let printed = 0
  let skipped = 0
  let settle!: (outcome: { done: true } | { error: unknown }) => void
  const finished = new Promise<{ done: true } | { error: unknown }>((resolve) => {
    settle = resolve
  })
  let stopping = false
  const stop = (outcome: { done: true } | { error: unknown }) => {
    stopping = true
    settle(outcome)
  }
  const advance = (topic: string, partition: number, lastOffset: string) => {
    if (options.follow) return
    const k = key(topic, partition)
    const r = pending.get(k)
    if (r !== undefined && BigInt(lastOffset) + 1n >= r.end) pending.delete(k)
    if (pending.size === 0) stop({ done: true })
  }

  const eachBatch = async ({ batch }: EachBatchPayload): Promise<void> => {
    const event = eventOf.get(batch.topic)
    const reader = event === undefined ? undefined : readers.get(event)
    const end = pending.get(key(batch.topic, batch.partition))?.end
    let chunk = ''
    for (const m of batch.messages) {
      if (stopping) break
      if (!options.follow && (end === undefined || BigInt(m.offset) >= end)) break
      if (event === undefined || reader === undefined || m.value === null) {
        skipped++
        logger.warn(
          { topic: batch.topic, partition: batch.partition, offset: m.offset },
          'record without a value, skipped',
        )
        continue
      }
      let e: JsonFormEvent
      try {
        e = toJsonForm(await decoder.decode(m.value, event, reader))
      } catch (err) {
        if (err instanceof AssetstreamError && err.code === 'registry_unavailable') throw err
        skipped++
        logger.warn(
          {
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            err: (err as Error).message,
          },
          'record could not be decoded, skipped',
        )
        continue
      }
      if (!matchesResource(e, options.resourcePrefixes)) continue
      chunk += formatEvent(e, options.format) + '\n'
      printed++
      if (options.max !== undefined && printed >= options.max) {
        stop({ done: true })
        break
      }
    }
    await write(io.stdout, chunk)
  }

  const onStdoutError = (err: NodeJS.ErrnoException) => {
    // The reader went away (`tail | head`): stop quietly.
    if (err.code === 'EPIPE') stop({ done: true })
    else stop({ error: err })
  }
  io.stdout.on('error', onStdoutError)
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
    advance(payload.topic, payload.partition, payload.lastOffset),
  )
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) stop({ error: payload.error })
  })
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [...eventOf.keys()], fromBeginning: true })
    await consumer.run({
      eachBatch: async (payload) => {
        try {
          await eachBatch(payload)
        } catch (e) {
          stop({ error: e })
        }
      },
    })
    logger.info(
      {
        groupId,
        topics: [...eventOf.keys()],
        from: options.from.kind === 'timestamp' ? options.from.text : options.from.kind,
        follow: options.follow,
      },
      'tailing',
    )
    const outcome = await Promise.race([finished, signalled])
    stopping = true
    if ('error' in outcome) {
      const e = outcome.error
      if (e instanceof AssetstreamError) throw e
      throw new AssetstreamError('consumer_crashed', `tail failed: ${(e as Error).message}`, {
        cause: e,
      })
    }
  } finally {
    stopping = true
    io.stdout.off('error', onStdoutError)
    await consumer.disconnect().catch(() => undefined)
    await deleteGroup(admin, groupId, logger)
  }
  logger.info({ printed, skipped }, 'tail finished')
  return skipped > 0 ? 1 : 0
}

async function deleteGroup(admin: Admin, groupId: string, logger: Logger): Promise<void> {
  try {
    await admin.deleteGroups([groupId])
  } catch (e) {
    logger.warn(
      { groupId, err: (e as Error).message },
      'could not delete the throwaway consumer group',
    )
  }
}

/** Decodes framed events; a writer schema equal to the reader's decodes without a resolver. */
class Decoder {
  readonly #writers = new Map<string, Type>()

  constructor(private readonly registry: Registry) {}

  async decode(value: Buffer, event: EventName, reader: AvroSchema): Promise<PrefectEvent> {
    const framed = unframe(value)
    if (framed === undefined) throw new Error('not in the Confluent wire format (magic byte 0)')
    const k = `${event}\u0000${framed.schemaId}`
    let writer = this.#writers.get(k)
    if (writer === undefined) {
      const fromRegistry = await this.registry.typeById(framed.schemaId)
      writer = fromRegistry.equals(reader.type) ? reader.type : fromRegistry
      this.#writers.set(k, writer)
    }
    return decodeEvent(value, writer, reader.type)
  }
}
