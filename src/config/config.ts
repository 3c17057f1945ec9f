/**
 * Configuration of the Kafka commands: every setting in one table (environment variable, flag,
 * default, parser), so the help text, the README table and the compose-file test read the same
 * list. `loadConfig` is pure: it parses everything, collects every problem into one error, and
 * returns a frozen object. Flags override the environment.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { AssetstreamError } from '../errors.js'
import { parseBool } from './env.js'
import { EVENT_NAMES, type EventName } from '../derive/types.js'

export type Guarantee = 'at-least-once' | 'exactly-once'
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface Config {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly groupId: string
  readonly inputTopic: string
  readonly topicPrefix: string
  readonly dlqTopic: string
  readonly changelogTopic: string
  readonly registryUrl: string
  readonly runContext: boolean
  readonly guarantee: Guarantee
  readonly createTopics: boolean
  /** Partitions of the event, DLQ and changelog topics created at start. */
  readonly topicPartitions: number
  /** Replication factor of created topics; undefined = min(3, brokers in the cluster). */
  readonly replicationFactor: number | undefined
  readonly fromBeginning: boolean
  readonly partitionsConcurrently: number
  readonly commitIntervalMs: number
  readonly transactionTimeoutMs: number
  readonly lineageTtlMs: number
  readonly metricsHost: string
  readonly metricsPort: number
  readonly startupTimeoutMs: number
  readonly logLevel: LogLevel
}

interface Setting<K extends keyof Config> {
  readonly key: K
  readonly env: string
  readonly flag: string
  /** Shown in help and README; the parsed default is in `DEFAULTS`. */
  readonly doc: string
  readonly boolean?: true
  readonly parse: (text: string, problem: (why: string) => void) => Config[K] | undefined
}

const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
]

const str =
  (what: string) =>
  (text: string, problem: (why: string) => void): string | undefined => {
    if (text.trim() === '') {
      problem(`${what} must not be empty`)
      return undefined
    }
    return text.trim()
  }

const int =
  (min: number, max: number) =>
  (text: string, problem: (why: string) => void): number | undefined => {
    const n = Number(text)
    if (!/^\s*\d+\s*$/.test(text) || n < min || n > max) {
      problem(`expected an integer from ${min} to ${max}, got ${JSON.stringify(text)}`)
      return undefined
    }
    return n
  }

const bool = (text: string, problem: (why: string) => void): boolean | undefined => {
  const problems: string[] = []
  const v = parseBool('', text, problems)
  if (problems.length > 0) problem(`expected true or false, got ${JSON.stringify(text)}`)
  return v
}

const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/
const topic = (text: string, problem: (why: string) => void): string | undefined => {
  if (!TOPIC.test(text) || text === '.' || text === '..') {
    problem(
      `${JSON.stringify(text)} is not a valid Kafka topic name (letters, digits, . _ -, at most 249)`,
    )
    return undefined
  }
  return text
}

/** Every setting of the Kafka commands. */
export const SETTINGS = [
  {
    key: 'brokers',
    env: 'ASSETSTREAM_BROKERS',
    flag: 'brokers',
    doc: 'Kafka bootstrap servers, comma-separated',
    parse: (text, problem) => {
      const list = text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
      const bad = list.filter((b) => !/^[^\s:]+:\d{1,5}$/.test(b))
      if (list.length === 0 || bad.length > 0) {
        problem(`expected host:port[,host:port…], got ${JSON.stringify(text)}`)
        return undefined
      }
      return list
    },
  } satisfies Setting<'brokers'>,
  {
    key: 'clientId',
    env: 'ASSETSTREAM_CLIENT_ID',
    flag: 'client-id',
    doc: 'Kafka client id',
    parse: str('client id'),
  } satisfies Setting<'clientId'>,
  {
    key: 'groupId',
    env: 'ASSETSTREAM_GROUP_ID',
    flag: 'group-id',
    doc: 'consumer group id',
    parse: str('group id'),
  } satisfies Setting<'groupId'>,
  {
    key: 'inputTopic',
    env: 'ASSETSTREAM_INPUT_TOPIC',
    flag: 'input-topic',
    doc: 'topic of lifecycle messages',
    parse: topic,
  } satisfies Setting<'inputTopic'>,
  {
    key: 'topicPrefix',
    env: 'ASSETSTREAM_TOPIC_PREFIX',
    flag: 'topic-prefix',
    doc: 'prefix of the event topics (`<prefix>prefect.asset.referenced`, …)',
    parse: (text, problem) => (text === '' ? '' : topic(text, problem)),
  } satisfies Setting<'topicPrefix'>,
  {
    key: 'dlqTopic',
    env: 'ASSETSTREAM_DLQ_TOPIC',
    flag: 'dlq-topic',
    doc: 'dead-letter topic',
    parse: topic,
  } satisfies Setting<'dlqTopic'>,
  {
    key: 'changelogTopic',
    env: 'ASSETSTREAM_CHANGELOG_TOPIC',
    flag: 'changelog-topic',
    doc: 'compacted lineage changelog topic',
    parse: topic,
  } satisfies Setting<'changelogTopic'>,
  {
    key: 'registryUrl',
    env: 'ASSETSTREAM_REGISTRY_URL',
    flag: 'registry-url',
    doc: 'Confluent-compatible schema registry base URL',
    parse: (text, problem) => {
      try {
        const u = new URL(text)
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol')
        return text.replace(/\/+$/, '')
      } catch {
        problem(`expected an http(s) URL, got ${JSON.stringify(text)}`)
        return undefined
      }
    },
  } satisfies Setting<'registryUrl'>,
  {
    key: 'runContext',
    env: 'ASSETSTREAM_RUN_CONTEXT',
    flag: 'run-context',
    boolean: true,
    doc: 'append the run context to related resources (`--no-run-context` turns it off)',
    parse: bool,
  } satisfies Setting<'runContext'>,
  {
    key: 'guarantee',
    env: 'ASSETSTREAM_GUARANTEE',
    flag: 'guarantee',
    doc: 'delivery guarantee: `at-least-once` or `exactly-once` (Kafka transactions)',
    parse: (text, problem) => {
      if (text === 'at-least-once' || text === 'exactly-once') return text
      problem(`expected at-least-once or exactly-once, got ${JSON.stringify(text)}`)
      return undefined
    },
  } satisfies Setting<'guarantee'>,
  {
    key: 'createTopics',
    env: 'ASSETSTREAM_CREATE_TOPICS',
    flag: 'create-topics',
    boolean: true,
    doc: 'create missing output, DLQ and changelog topics at start',
    parse: bool,
  } satisfies Setting<'createTopics'>,
  {
    key: 'topicPartitions',
    env: 'ASSETSTREAM_TOPIC_PARTITIONS',
    flag: 'topic-partitions',
    doc: "partitions of topics created at start (the changelog gets the input topic's count)",
    parse: int(1, 10_000),
  } satisfies Setting<'topicPartitions'>,
  {
    key: 'replicationFactor',
    env: 'ASSETSTREAM_REPLICATION_FACTOR',
    flag: 'replication-factor',
    doc: 'replication factor of topics created at start',
    parse: int(1, 32),
  } satisfies Setting<'replicationFactor'>,
  {
    key: 'fromBeginning',
    env: 'ASSETSTREAM_FROM_BEGINNING',
    flag: 'from-beginning',
    boolean: true,
    doc: 'a new consumer group starts at the earliest offset (else at the end)',
    parse: bool,
  } satisfies Setting<'fromBeginning'>,
  {
    key: 'partitionsConcurrently',
    env: 'ASSETSTREAM_PARTITIONS_CONCURRENTLY',
    flag: 'partitions-concurrently',
    doc: 'input partitions processed at the same time',
    parse: int(1, 1000),
  } satisfies Setting<'partitionsConcurrently'>,
  {
    key: 'commitIntervalMs',
    env: 'ASSETSTREAM_COMMIT_INTERVAL_MS',
    flag: 'commit-interval-ms',
    doc: 'exactly-once: how long a fetch waits to fill a batch; one transaction commits each batch',
    parse: int(0, 60_000),
  } satisfies Setting<'commitIntervalMs'>,
  {
    key: 'transactionTimeoutMs',
    env: 'ASSETSTREAM_TRANSACTION_TIMEOUT_MS',
    flag: 'transaction-timeout-ms',
    doc: "exactly-once: the broker aborts a transaction left open longer (a crashed instance's)",
    parse: int(1_000, 900_000),
  } satisfies Setting<'transactionTimeoutMs'>,
  {
    key: 'lineageTtlMs',
    env: 'ASSETSTREAM_LINEAGE_TTL_MS',
    flag: 'lineage-ttl-ms',
    doc: 'lineage entries idle longer are removed (tombstoned in the changelog)',
    parse: int(1_000, 365 * 86_400_000),
  } satisfies Setting<'lineageTtlMs'>,
  {
    key: 'metricsHost',
    env: 'ASSETSTREAM_METRICS_HOST',
    flag: 'metrics-host',
    doc: 'address of the /metrics, /healthz and /readyz endpoint (0.0.0.0 in a container)',
    parse: str('metrics host'),
  } satisfies Setting<'metricsHost'>,
  {
    key: 'metricsPort',
    env: 'ASSETSTREAM_METRICS_PORT',
    flag: 'metrics-port',
    doc: 'port of that endpoint (0: any free port, logged at start)',
    parse: int(0, 65_535),
  } satisfies Setting<'metricsPort'>,
  {
    key: 'startupTimeoutMs',
    env: 'ASSETSTREAM_STARTUP_TIMEOUT_MS',
    flag: 'startup-timeout-ms',
    doc: 'how long start-up waits for the broker and the registry',
    parse: int(100, 3_600_000),
  } satisfies Setting<'startupTimeoutMs'>,
  {
    key: 'logLevel',
    env: 'ASSETSTREAM_LOG_LEVEL',
    flag: 'log-level',
    doc: 'fatal, error, warn, info, debug, trace or silent',
    parse: (text, problem) => {
      if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevel
      problem(`expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(text)}`)
      return undefined
    },
  } satisfies Setting<'logLevel'>,
] as const

type Defaults = Omit<Config, 'dlqTopic' | 'changelogTopic' | 'replicationFactor'>
export const DEFAULTS: Readonly<Defaults> = Object.freeze({
  brokers: ['127.0.0.1:9092'],
  clientId: 'assetstream',
  groupId: 'assetstream',
  inputTopic: 'task-run-lifecycle',
  topicPrefix: '',
  registryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
  runContext: true,
  guarantee: 'at-least-once',
  createTopics: true,
  topicPartitions: 4,
  fromBeginning: true,
  partitionsConcurrently: 4,
  commitIntervalMs: 100,
  transactionTimeoutMs: 60_000,
  lineageTtlMs: 7 * 86_400_000,
  metricsHost: '127.0.0.1',
  metricsPort: 9464,
  startupTimeoutMs: 30_000,
  logLevel: 'info',
})

/** The default text of a setting, for help and docs. */
export function defaultText(key: keyof Config): string {
  switch (key) {
    case 'dlqTopic':
      return '<input topic>.dlq'
    case 'changelogTopic':
      return '<group id>-lineage-changelog'
    case 'replicationFactor':
      return 'min(3, brokers)'
    default: {
      const v = DEFAULTS[key]
      return Array.isArray(v) ? v.join(',') : v === '' ? '(none)' : String(v)
    }
  }
}

/** The options help of the Kafka commands. */
export function settingsHelp(): string {
  return SETTINGS.map((s) => {
    const flag = 'boolean' in s ? `--[no-]${s.flag}` : `--${s.flag} VALUE`
    return `  ${flag.padEnd(34)} ${s.doc}\n  ${''.padEnd(34)} env ${s.env}, default ${defaultText(s.key)}`
  }).join('\n')
}

export interface ParsedCommandLine {
  readonly config: Config
  /** Arguments that are not settings (left to the command). */
  readonly positionals: readonly string[]
  readonly help: boolean
}

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>

/** The parseArgs options of every setting (`--brokers VALUE`, `--[no-]run-context`, …). */
export function settingOptions(): OptionSpecs {
  const options: OptionSpecs = {}
  for (const s of SETTINGS) {
    if ('boolean' in s) {
      options[s.flag] = { type: 'boolean' }
      options[`no-${s.flag}`] = { type: 'boolean' }
    } else {
      options[s.flag] = { type: 'string' }
    }
  }
  return options
}

/** Parses settings from the environment and the command line; throws one error listing every problem. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[],
): ParsedCommandLine {
  const options = { ...settingOptions(), help: { type: 'boolean', short: 'h' } } as const
  const problems: string[] = []
  let values: Record<string, string | boolean | undefined> = {}
  let positionals: string[] = []
  try {
    ;({ values, positionals } = parseArgs({
      args: [...argv],
      options,
      strict: true,
      allowPositionals: true,
    }))
  } catch (e) {
    problems.push((e as Error).message)
  }

  const out: Record<string, unknown> = { ...DEFAULTS }
  for (const s of SETTINGS) {
    const fromEnv = env[s.env]
    const flag = values[s.flag]
    const negated = values[`no-${s.flag}`] === true
    let text: string | undefined
    let source: string
    if (flag !== undefined || negated) {
      text = typeof flag === 'string' ? flag : String(flag === true && !negated)
      source = `--${negated ? 'no-' : ''}${s.flag}`
    } else if (fromEnv !== undefined && fromEnv !== '') {
      text = fromEnv
      source = s.env
    } else {
      continue
    }
    const v = (s.parse as (t: string, p: (why: string) => void) => unknown)(text, (why) =>
      problems.push(`${source}: ${why}`),
    )
    if (v !== undefined) out[s.key] = v
  }
  out.dlqTopic ??= `${out.inputTopic as string}.dlq`
  out.changelogTopic ??= `${out.groupId as string}-lineage-changelog`
  const config = out as unknown as Config
  const outputs = new Set(eventTopics(config))
  for (const [name, t] of [
    ['input', config.inputTopic],
    ['dead-letter', config.dlqTopic],
    ['changelog', config.changelogTopic],
  ] as const) {
    if (outputs.has(t))
      problems.push(`the ${name} topic ${JSON.stringify(t)} is also an event topic`)
  }
  if (config.dlqTopic === config.inputTopic)
    problems.push('the dead-letter topic must differ from the input topic')
  if (config.changelogTopic === config.inputTopic || config.changelogTopic === config.dlqTopic) {
    problems.push('the changelog topic must differ from the input and dead-letter topics')
  }
  if (problems.length > 0) {
    throw new AssetstreamError(
      'invalid_config',
      `invalid configuration (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  - ${problems.join('\n  - ')}`,
      { problems },
    )
  }
  return { config: Object.freeze(config), positionals, help: values.help === true }
}

export const eventTopic = (config: Pick<Config, 'topicPrefix'>, event: EventName): string =>
  `${config.topicPrefix}${event}`
export const eventTopics = (config: Pick<Config, 'topicPrefix'>): string[] =>
  EVENT_NAMES.map((e) => eventTopic(config, e))
