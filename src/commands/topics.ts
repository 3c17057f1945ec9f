/**
 * `assetstream topics create|verify`: the processor's topics (input, one per event type, dead
 * letters, lineage changelog), created when missing and checked: each exists, the changelog has at
 * least the input's partitions and is compacted, the event and dead-letter topics are not (a
 * compacted event topic would drop older events of a resource). The result is one table on
 * stdout; every problem is listed on stderr.
 */
import { connectBroker } from '../app.js'
import { eventTopics, type Config } from '../config/config.js'
import { AssetstreamError } from '../errors.js'
import { ConfigResourceTypes, type Admin } from '../kafka/kafkajs.js'
import { ensureTopics, partitionCounts, type TopicSpec } from '../kafka/topics.js'
import { createLogger, type Logger } from '../logger.js'
import type { CommandIo } from './derive.js'
import {
  formatTable,
  lastString,
  loadCommandLine,
  settingsHelpFor,
  type OptionSpecs,
  type OptionValues,
} from './kafka-command.js'

const QUIET = 'warn'

export const TOPICS_HELP = `Usage: assetstream topics create [options]
       assetstream topics verify [options]

create  creates the processor's topics that are missing: the input topic (--input-partitions),
        one topic per event type and the dead-letter topic (--topic-partitions), and the
        compacted lineage changelog (as many partitions as the input topic). Existing topics
        are left as they are. Then verifies, as "verify" does.
verify  checks that every topic exists, that the changelog has at least as many partitions as
        the input topic and cleanup.policy=compact, and that the event and dead-letter topics
        are not compacted. Prints a table; lists every problem on stderr.

Options:
  --input-partitions N               create: partitions of the input topic when it is created
                                     (default: --topic-partitions)
  --retention-ms MS                  create: retention.ms of the event topics it creates
                                     (default: the broker's)
  -h, --help                         show this help

Settings (flags override environment variables; the other settings of "run" are accepted and
ignored):
${settingsHelpFor(['brokers', 'clientId', 'groupId', 'inputTopic', 'topicPrefix', 'dlqTopic', 'changelogTopic', 'topicPartitions', 'replicationFactor', 'startupTimeoutMs', 'logLevel'], QUIET)}

Exit status: 0 every topic is right, 1 some problem (listed) or a runtime failure, 2 a usage or
configuration error.
`

const OPTIONS: OptionSpecs = {
  'input-partitions': { type: 'string' },
  'retention-ms': { type: 'string' },
}

export type TopicRole = 'input' | 'event' | 'dead-letter' | 'changelog'

export interface TopicsOptions {
  readonly action: 'create' | 'verify'
  readonly inputPartitions: number | undefined
  readonly retentionMs: string | undefined
}

function positiveInt(text: string | undefined, flag: string, max: number, problems: string[]) {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!/^\s*\d+\s*$/.test(text) || n < 1 || n > max) {
    problems.push(`--${flag}: expected an integer from 1 to ${max}, got ${JSON.stringify(text)}`)
    return undefined
  }
  return n
}

export function parseTopicsOptions(
  values: OptionValues,
  positionals: readonly string[],
): TopicsOptions {
  const problems: string[] = []
  const [action, ...extra] = positionals
  if (action !== 'create' && action !== 'verify')
    problems.push(
      action === undefined
        ? 'expected a subcommand: create or verify'
        : `unknown subcommand ${JSON.stringify(action)} (expected create or verify)`,
    )
  if (extra.length > 0) problems.push(`unexpected arguments: ${extra.join(' ')}`)
  const inputPartitions = positiveInt(
    lastString(values, 'input-partitions'),
    'input-partitions',
    10_000,
    problems,
  )
  const retention = lastString(values, 'retention-ms')
  // -1 is Kafka's "keep forever".
  if (retention !== undefined && retention.trim() !== '-1')
    positiveInt(retention, 'retention-ms', Number.MAX_SAFE_INTEGER, problems)
  if (action === 'verify') {
    for (const flag of ['input-partitions', 'retention-ms'])
      if (values[flag] !== undefined) problems.push(`--${flag} applies to create only`)
  }
  if (problems.length > 0) throw new AssetstreamError('usage', problems.join('; '), { problems })
  return {
    action: action === 'create' ? 'create' : 'verify',
    inputPartitions,
    retentionMs: retention?.trim(),
  }
}

/** What the broker says about one existing topic. */
export interface ObservedTopic {
  readonly partitions: number
  readonly replicationFactor: number
  readonly cleanupPolicy: string | undefined
  readonly retentionMs: string | undefined
}

export interface TopicRow {
  readonly topic: string
  readonly role: TopicRole
  readonly observed: ObservedTopic | undefined
  /** `ok`, or what is wrong, in a few words. */
  readonly status: string
}

export const processorTopics = (
  config: Config,
): readonly { readonly topic: string; readonly role: TopicRole }[] => [
  { topic: config.inputTopic, role: 'input' },
  ...eventTopics(config).map((topic) => ({ topic, role: 'event' as const })),
  { topic: config.dlqTopic, role: 'dead-letter' },
  { topic: config.changelogTopic, role: 'changelog' },
]

const policies = (p: string | undefined) =>
  (p ?? 'delete')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')

/** Checks the observed topics; pure. Every problem is a sentence naming its topic. */
export function evaluateTopics(
  config: Config,
  observed: ReadonlyMap<string, ObservedTopic>,
): { rows: TopicRow[]; problems: string[] } {
  const problems: string[] = []
  const input = observed.get(config.inputTopic)
  const rows = processorTopics(config).map(({ topic, role }): TopicRow => {
    const o = observed.get(topic)
    const wrong: string[] = []
    if (o === undefined) {
      problems.push(`the ${role} topic ${topic} does not exist`)
      return { topic, role, observed: o, status: 'missing' }
    }
    const policy = policies(o.cleanupPolicy)
    if (role === 'changelog') {
      if (input !== undefined && o.partitions < input.partitions) {
        wrong.push('too few partitions')
        problems.push(
          `the changelog topic ${topic} has ${o.partitions} partitions, fewer than the ${input.partitions} of the input topic ${config.inputTopic}`,
        )
      }
      if (policy.length !== 1 || policy[0] !== 'compact') {
        wrong.push('not compacted')
        problems.push(
          `the changelog topic ${topic} has cleanup.policy=${policy.join(',')}, needs compact (lineage state would be deleted)`,
        )
      }
    } else if ((role === 'event' || role === 'dead-letter') && policy.includes('compact')) {
      wrong.push('compacted')
      problems.push(
        `the ${role} topic ${topic} has cleanup.policy=${policy.join(',')}: compaction would drop older records of a key; needs delete`,
      )
    }
    return { topic, role, observed: o, status: wrong.length === 0 ? 'ok' : wrong.join(', ') }
  })
  return { rows, problems }
}

export function formatTopicsTable(rows: readonly TopicRow[], created: ReadonlySet<string>): string {
  return formatTable(
    ['TOPIC', 'ROLE', 'PARTITIONS', 'REPLICAS', 'CLEANUP', 'RETENTION MS', 'STATUS'],
    rows.map((r) => [
      r.topic,
      r.role,
      r.observed === undefined ? '-' : String(r.observed.partitions),
      r.observed === undefined ? '-' : String(r.observed.replicationFactor),
      r.observed?.cleanupPolicy ?? '-',
      r.observed?.retentionMs ?? '-',
      created.has(r.topic) && r.status === 'ok' ? 'created' : r.status,
    ]),
  )
}

/** Partitions, replication factor and the two configs of each existing topic. */
export async function observeTopics(
  admin: Admin,
  topics: readonly string[],
): Promise<Map<string, ObservedTopic>> {
  const existing = new Set(await admin.listTopics())
  const present = topics.filter((t) => existing.has(t))
  const out = new Map<string, ObservedTopic>()
  if (present.length === 0) return out
  const [{ topics: meta }, configs] = await Promise.all([
    admin.fetchTopicMetadata({ topics: present }),
    admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['cleanup.policy', 'retention.ms'],
      })),
    }),
  ])
  const configOf = new Map(
    configs.resources.map((r) => [
      r.resourceName,
      new Map(r.configEntries.map((c) => [c.configName, c.configValue])),
    ]),
  )
  for (const t of meta) {
    const c = configOf.get(t.name)
    out.set(t.name, {
      partitions: t.partitions.length,
      replicationFactor: Math.max(0, ...t.partitions.map((p) => p.replicas.length)),
      cleanupPolicy: c?.get('cleanup.policy') ?? undefined,
      retentionMs: c?.get('retention.ms') ?? undefined,
    })
  }
  return out
}

/** Creates the missing topics; returns their names. Existing topics are not changed. */
async function createMissing(
  admin: Admin,
  config: Config,
  options: TopicsOptions,
  logger: Logger,
): Promise<Set<string>> {
  const before = await partitionCounts(
    admin,
    processorTopics(config).map((t) => t.topic),
  )
  const inputExisting = before.get(config.inputTopic)
  if (inputExisting !== undefined && options.inputPartitions !== undefined)
    logger.warn(
      { topic: config.inputTopic, partitions: inputExisting },
      'the input topic exists: --input-partitions is not applied',
    )
  const inputPartitions = inputExisting ?? options.inputPartitions ?? config.topicPartitions
  const retention = options.retentionMs === undefined ? {} : { 'retention.ms': options.retentionMs }
  const specs: TopicSpec[] = [
    { topic: config.inputTopic, partitions: inputPartitions },
    ...eventTopics(config).map((topic) => ({
      topic,
      partitions: config.topicPartitions,
      configs: retention,
    })),
    { topic: config.dlqTopic, partitions: config.topicPartitions },
    {
      topic: config.changelogTopic,
      partitions: inputPartitions,
      configs: { 'cleanup.policy': 'compact' },
    },
  ]
  try {
    await ensureTopics(
      admin,
      specs,
      { create: true, replicationFactor: config.replicationFactor },
      logger,
    )
  } catch (e) {
    if (e instanceof AssetstreamError) throw e
    // kafkajs reports one error per topic; the same message is given once, with its topics.
    const nested = (e as { errors?: unknown[] }).errors
    const byMessage = new Map<string, string[]>()
    for (const x of Array.isArray(nested) ? nested : [e]) {
      const { message, topic } = x as { message?: string; topic?: string }
      const list = byMessage.get(message ?? String(x)) ?? []
      if (topic !== undefined) list.push(topic)
      byMessage.set(message ?? String(x), list)
    }
    const why = [...byMessage]
      .map(([message, topics]) =>
        topics.length > 0 ? `${message} (${topics.join(', ')})` : message,
      )
      .join('; ')
    throw new AssetstreamError(
      'invalid_config',
      `could not create topics (replication factor ${config.replicationFactor ?? 'min(3, brokers)'}): ${why}`,
      { cause: e },
    )
  }
  return new Set(specs.map((s) => s.topic).filter((t) => !before.has(t)))
}

export async function runTopics(argv: readonly string[], io: CommandIo): Promise<number> {
  const line = loadCommandLine(io.env, argv, OPTIONS, QUIET)
  if (line === undefined) {
    io.stdout.write(TOPICS_HELP)
    return 0
  }
  const options = parseTopicsOptions(line.values, line.positionals)
  const { config } = line
  const logger = createLogger(config.logLevel)
  try {
    const broker = await connectBroker(config, logger)
    const { admin } = broker
    try {
      const created =
        options.action === 'create'
          ? await createMissing(admin, config, options, logger)
          : new Set<string>()
      const observed = await observeTopics(
        admin,
        processorTopics(config).map((t) => t.topic),
      )
      const { rows, problems } = evaluateTopics(config, observed)
      io.stdout.write(formatTopicsTable(rows, created))
      for (const p of problems) io.stderr.write(`assetstream topics ${options.action}: ${p}\n`)
      if (problems.length > 0)
        io.stderr.write(
          `assetstream topics ${options.action}: ${problems.length} problem${problems.length > 1 ? 's' : ''}\n`,
        )
      return problems.length > 0 ? 1 : 0
    } finally {
      await broker.close().catch(() => undefined)
    }
  } finally {
    logger.flush()
  }
}
