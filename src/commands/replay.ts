/**
 * `assetstream replay`: reprocess the lifecycle topic for backfill, from a timestamp (or explicit
 * offsets) up to the end offsets taken when the replay starts.
 *
 * By default it runs under a consumer group of its own, so the live group is not disturbed. Lineage
 * is rebuilt in memory during a warm-up that starts earlier than the first published message
 * (default: the lineage idle time, past which entries are expired anyway), so re-derived events
 * equal the first ones, ids included. `--reset-group` instead moves the live group's offsets back
 * (refused while the group has members) and lets the live processors reprocess.
 */
import { connect } from '../app.js'
import { eventTopics, settingsHelp, type Config } from '../config/config.js'
import { parseRfc3339 } from '../derive/time.js'
import { AssetstreamError } from '../errors.js'
import type { Admin } from '../kafka/kafkajs.js'
import { Processor } from '../kafka/processor.js'
import { ensureTopics } from '../kafka/topics.js'
import { createLogger, type Logger } from '../logger.js'
import type { CommandIo } from './derive.js'
import {
  lastString,
  loadCommandLine,
  type OptionSpecs,
  type OptionValues,
} from './kafka-command.js'
import { Progress } from './progress.js'

const OWN: OptionSpecs = {
  from: { type: 'string' },
  offsets: { type: 'string' },
  'warmup-ms': { type: 'string' },
  'reset-group': { type: 'boolean' },
  'replay-group': { type: 'string' },
}

export const REPLAY_HELP = `Usage: assetstream replay (--from TIME | --offsets P:O[,P:O...]) [options]

Reprocesses the lifecycle topic for backfill: from the first message at or after TIME (RFC 3339)
or from explicit offsets per partition, up to the end offsets taken when the replay starts. Events
go to the event topics of the settings (use --topic-prefix for separate topics). Deterministic ids
make re-derived events identical to the first ones.

Replay options:
  --from TIME                        start at the first message at or after TIME (RFC 3339)
  --offsets P:O[,P:O...]             start at these offsets (other partitions: at their end)
  --warmup-ms N                      rebuild lineage from N ms before --from without publishing
                                     (default: the lineage idle time); with --offsets the warm-up
                                     starts at the earliest offset unless N is 0
  --replay-group ID                  the replay's consumer group (default <group id>.replay.<now>,
                                     deleted at the end)
  --reset-group                      instead of replaying, move the live group's offsets to the
                                     start (refused while the group has members), then exit

Settings (flags override environment variables):
${settingsHelp()}
  -h, --help                         show this help

Exit status: 0 done, 1 runtime failure, 2 usage or configuration error.
`

type Offsets = Map<number, bigint>

function parseOffsets(text: string): Offsets {
  const out: Offsets = new Map()
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const m = /^(\d+):(\d+)$/.exec(part)
    if (m === null)
      throw new AssetstreamError(
        'usage',
        `--offsets: expected PARTITION:OFFSET, got ${JSON.stringify(part)}`,
      )
    out.set(Number(m[1]), BigInt(m[2] as string))
  }
  if (out.size === 0) throw new AssetstreamError('usage', '--offsets: no partition given')
  return out
}

async function offsetsAt(
  admin: Admin,
  topic: string,
  timestampMs: number,
  ends: Offsets,
): Promise<Offsets> {
  const found = await admin.fetchTopicOffsetsByTimestamp(topic, timestampMs)
  // No message at or after the time: start at the end.
  return new Map(
    found.map((o) => [
      o.partition,
      Number(o.offset) < 0 ? (ends.get(o.partition) ?? 0n) : BigInt(o.offset),
    ]),
  )
}

interface Plan {
  readonly ends: Offsets
  readonly emitFrom: Offsets
  readonly startAt: Offsets
}

/** Where the replay starts, as the command line says: checked before anything connects. */
interface Start {
  /** --from, as Unix ms. */
  readonly fromMs?: number
  readonly offsets?: Offsets
  readonly warmupMs: number | undefined
}

export function parseStart(values: OptionValues): Start {
  const from = lastString(values, 'from')
  const offsets = lastString(values, 'offsets')
  const warmupText = lastString(values, 'warmup-ms')
  if ((from === undefined) === (offsets === undefined))
    throw new AssetstreamError('usage', 'give exactly one of --from and --offsets')
  let warmupMs: number | undefined
  if (warmupText !== undefined) {
    if (!/^\d+$/.test(warmupText))
      throw new AssetstreamError(
        'usage',
        `--warmup-ms: expected a number of milliseconds, got ${JSON.stringify(warmupText)}`,
      )
    warmupMs = Number(warmupText)
  }
  if (offsets !== undefined) return { offsets: parseOffsets(offsets), warmupMs }
  const micros = parseRfc3339(from as string)
  if (micros === undefined)
    throw new AssetstreamError(
      'usage',
      `--from: expected an RFC 3339 date-time, got ${JSON.stringify(from)}`,
    )
  return { fromMs: Math.floor(micros / 1000), warmupMs }
}

async function plan(admin: Admin, config: Config, start: Start): Promise<Plan> {
  const { warmupMs } = start
  const topicOffsets = await admin.fetchTopicOffsets(config.inputTopic)
  const ends: Offsets = new Map(topicOffsets.map((o) => [o.partition, BigInt(o.high)]))
  const lows: Offsets = new Map(topicOffsets.map((o) => [o.partition, BigInt(o.low)]))
  let emitFrom: Offsets
  let startAt: Offsets
  if (start.fromMs !== undefined) {
    const ms = start.fromMs
    emitFrom = await offsetsAt(admin, config.inputTopic, ms, ends)
    startAt = await offsetsAt(
      admin,
      config.inputTopic,
      ms - (warmupMs ?? config.lineageTtlMs),
      ends,
    )
  } else {
    const given = start.offsets ?? new Map<number, bigint>()
    for (const p of given.keys())
      if (!ends.has(p))
        throw new AssetstreamError('usage', `--offsets: ${config.inputTopic} has no partition ${p}`)
    emitFrom = new Map([...ends].map(([p, end]) => [p, given.get(p) ?? end]))
    startAt = warmupMs === 0 ? new Map(emitFrom) : new Map(lows)
  }
  // Within the topic, and the warm-up never after the start.
  for (const [p, end] of ends) {
    const low = lows.get(p) ?? 0n
    const clamp = (o: bigint | undefined) =>
      o === undefined ? end : o < low ? low : o > end ? end : o
    const e = clamp(emitFrom.get(p))
    emitFrom.set(p, e)
    const s = clamp(startAt.get(p))
    startAt.set(p, s > e ? e : s)
  }
  return { ends, emitFrom, startAt }
}

const describe = (o: Offsets): string =>
  [...o]
    .sort(([a], [b]) => a - b)
    .map(([p, x]) => `${p}:${x}`)
    .join(',')

async function resetGroup(
  admin: Admin,
  config: Config,
  emitFrom: Offsets,
  io: CommandIo,
): Promise<number> {
  const { groups } = await admin.describeGroups([config.groupId])
  const members = groups[0]?.members.length ?? 0
  if (members > 0) {
    throw new AssetstreamError(
      'usage',
      `the group ${config.groupId} has ${members} member(s): stop its processors before --reset-group`,
    )
  }
  await admin.setOffsets({
    groupId: config.groupId,
    topic: config.inputTopic,
    partitions: [...emitFrom].map(([partition, offset]) => ({ partition, offset: String(offset) })),
  })
  io.stdout.write(
    `reset group ${config.groupId} on ${config.inputTopic} to ${describe(emitFrom)}\n`,
  )
  return 0
}

async function replay(
  config: Config,
  app: Awaited<ReturnType<typeof connect>>,
  p: Plan,
  replayGroup: string,
  io: CommandIo,
  logger: Logger,
): Promise<number> {
  await ensureTopics(
    app.admin,
    [...eventTopics(config), config.dlqTopic].map((topic) => ({
      topic,
      partitions: config.topicPartitions,
    })),
    { create: config.createTopics, replicationFactor: config.replicationFactor },
    logger,
  )
  await app.admin.setOffsets({
    groupId: replayGroup,
    topic: config.inputTopic,
    partitions: [...p.startAt].map(([partition, offset]) => ({
      partition,
      offset: String(offset),
    })),
  })
  let total = 0
  let published = 0
  for (const [part, end] of p.ends) {
    total += Number(end - (p.startAt.get(part) ?? end))
    published += Number(end - (p.emitFrom.get(part) ?? end))
  }
  logger.info(
    {
      group: replayGroup,
      startAt: describe(p.startAt),
      emitFrom: describe(p.emitFrom),
      ends: describe(p.ends),
      total,
      published,
    },
    'replay planned',
  )
  const progress = new Progress(total, io.stderr, logger)
  const processor = new Processor(
    { ...config, groupId: replayGroup, fromBeginning: true },
    { ...app, schemas: app.registry, logger },
    {
      startAt: p.startAt,
      emitFrom: p.emitFrom,
      stopAt: p.ends,
      onProgress: (done) => progress.update(done),
    },
  )
  const stop = io.stopSignal()
  await processor.start()
  const outcome = await Promise.race([
    processor.finished.then(() => 'done'),
    stop,
    processor.failed,
  ])
  await processor.stop()
  progress.end()
  const c = processor.counters
  io.stdout.write(
    `${outcome === 'done' ? 'replayed' : `stopped (${outcome}) after`} ${c.messages} messages (${published} from the start offsets, the rest warm-up) in ${progress.elapsedSeconds.toFixed(1)} s: ${c.events} events, ${c.deadLetters} dead letters\n`,
  )
  return outcome === 'done' ? 0 : 1
}

export async function runReplay(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = loadCommandLine(io.env, argv, OWN, 'info')
  if (cl === undefined) {
    io.stdout.write(REPLAY_HELP)
    return 0
  }
  const { config, values, positionals } = cl
  if (positionals.length > 0)
    throw new AssetstreamError('usage', `unexpected arguments: ${positionals.join(' ')}`)
  const start = parseStart(values) // a usage error before anything connects or registers
  const logger = createLogger(config.logLevel)
  const app = await connect(config, logger)
  try {
    const p = await plan(app.admin, config, start)
    if (values['reset-group'] === true) return await resetGroup(app.admin, config, p.emitFrom, io)
    const named = lastString(values, 'replay-group')
    const replayGroup = named ?? `${config.groupId}.replay.${Date.now()}`
    try {
      return await replay(config, app, p, replayGroup, io, logger)
    } finally {
      if (named === undefined) await app.admin.deleteGroups([replayGroup]).catch(() => undefined)
    }
  } finally {
    await app.close().catch(() => undefined)
    logger.flush()
  }
}
