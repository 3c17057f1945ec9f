/**
 * End-to-end benchmark on a real broker and registry: `npm run bench`.
 *
 * One run measures, on the same messages and the same broker:
 *
 * 1. Throughput of four pipelines, each reading the whole input topic (N lifecycle messages from
 *    ./workload.ts, 4 partitions) from the beginning:
 *    - kcat: `kcat -C … -f '%k\t%s\n' | kcat -P -K '\t'` (librdkafka, C), no processing;
 *    - the kafkajs passthrough (./passthrough.ts): the processor's Kafka settings, no processing;
 *    - `assetstream run`, at least once, then exactly once (the real CLI, child processes).
 *    Each is timed from outside, by polling the broker every 100 ms: the consumer group's committed
 *    offsets (kcat, which commits nothing: the output topic's end offsets). The window runs from
 *    the first poll that sees progress to the poll that sees all N messages done; the messages done
 *    at the first poll are left out of the count. A committed offset means every record derived
 *    from the messages before it was acknowledged (at least once: the commit follows the acks;
 *    exactly once: the offsets commit with the transaction). Events/s = msgs/s × events per
 *    message (the processor's own count, from its /metrics).
 * 2. End-to-end latency at a fixed input rate, half the at-least-once maximum: a paced producer
 *    sends new messages to a fresh input topic; a consumer on the event topics matches each event
 *    to its message by the `assetstream.source.message.id` header. Latency = when the consumer
 *    sees the event − when the message was handed to the producer (one process, one clock).
 * 3. Memory: the processor's peak RSS (VmHWM) in every run, and its RSS sampled each second over a
 *    soak at that rate (the latency run, continued), growth by linear regression after a warm-up.
 *
 * It prints a table and writes `bench/results/latest.json`. Topics, groups and schema subjects of
 * the run are deleted at the end.
 */
import { execFile, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { decodeJson } from '../../codec/lifecycle-decode.js'
import { EVENT_NAMES } from '../../derive/types.js'
import { createKafka, Partitioners, type Admin, type Kafka } from '../../kafka/kafkajs.js'
import { createLogger } from '../../logger.js'
import { processValue } from '../../pipeline/process.js'
import { MemoryLineageStore } from '../../state/memory-lineage-store.js'
import { generateWorkload, type LifecycleJson } from '../workload.js'
import type { PacedProducerData, PacedProducerMessage } from './paced-producer.js'
import { formatProfile, loadProfile, summarizeProfile, type ProfileSummary } from './profile.js'
import {
  Child,
  fetchStatus,
  IdSet,
  fetchText,
  linearRegression,
  metricSum,
  procCpuSeconds,
  procStatusMb,
  round,
  Samples,
  summarizeLatencies,
  type LatencySummary,
} from './support.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const CLI = fileURLToPath(new URL('../../cli.js', import.meta.url))
const PASSTHROUGH = fileURLToPath(new URL('./passthrough.js', import.meta.url))
const PACED_PRODUCER = fileURLToPath(new URL('./paced-producer.js', import.meta.url))
/** Milliseconds since the epoch, sub-millisecond, the same clock in every thread. */
const absoluteNow = (): number => performance.timeOrigin + performance.now()
const DEFAULT_BROKERS = '127.0.0.1:9092'
/** The three-broker cluster of `stack/stack.sh cluster-up` (`--cluster`). */
const CLUSTER_BROKERS = '127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094'
/** Seconds after each failover (kill -9 of a leader) left out of the steady-state latency. */
const FAILOVER_WINDOW_S = 60
/** Seconds a killed broker stays down. */
const FAILOVER_DOWN_S = 20
const DEFAULT_REGISTRY = 'http://127.0.0.1:8081/apis/ccompat/v7'
const PARTITIONS = 4
const POLL_MS = 100

const TARGETS = {
  alo_vs_passthrough: 0.8,
  eos_vs_alo: 0.7,
  p99_ms: 50,
  peak_rss_mb: 200,
  soak_rss_growth_mb_per_min: 2,
} as const

const HELP = `Usage: npm run bench -- [options]     (node dist/bench/kafka/bench.js [options])

Throughput of assetstream (at least once, exactly once) against a kafkajs passthrough and a kcat
pipe on the same messages and broker; end-to-end latency and RSS over a soak at half the
at-least-once maximum. Needs the local stack (started when down) and kcat (installed with apt-get
when missing and possible, else its figure is null).

  --messages N          lifecycle messages of the throughput runs (default 200000)
  --soak-seconds S      length of the paced run: latency, then RSS soak (default 600)
  --latency-seconds S   latency window of the paced run, after a 10 s warm-up (default 60)
  --rate R              input rate of the paced run, msgs/s (default: half the at-least-once rate)
  --soak-lineage-ttl-ms MS
                        ASSETSTREAM_LINEAGE_TTL_MS of the soak's processor (default 10000; see
                        bench/README.md: the soak compresses days of flow runs into minutes)
  --rounds N            throughput runs of each pipeline, interleaved; the median is reported
                        (default 1)
  --only LIST           a subset of kcat,passthrough,alo,eos,soak (default: all)
  --profile             CPU-profile (node --cpu-prof) the throughput runs of the Node pipelines
                        and summarise self time by component and function (the profiler's
                        overhead is in those figures)
  --ref-cli PATH        also run another build's CLI (e.g. one without a change), right after
                        each at-least-once / exactly-once run: a before/after in the same run
  --cluster             on the three-broker cluster (stack/stack.sh cluster-up, started when down;
                        topics at replication factor 3) instead of the single broker
  --failover-every S    paced run: kill -9 the broker leading most of its partitions every S seconds,
                        restart it ${FAILOVER_DOWN_S} s later (needs --cluster); the latency outside the ${FAILOVER_WINDOW_S} s
                        after each is reported apart, and every event derive expects is looked for
  --seed N              workload seed (default 1)
  --brokers LIST        default ${DEFAULT_BROKERS} (${CLUSTER_BROKERS} with --cluster)
  --registry-url URL    default ${DEFAULT_REGISTRY}
  --out FILE            results (default bench/results/latest.json)
  --keep-topics         leave the run's topics, groups and subjects
  -h, --help            show this help
`

type Pipeline = 'kcat' | 'passthrough' | 'alo' | 'eos' | 'alo-ref' | 'eos-ref'
const PIPELINES: readonly Pipeline[] = ['kcat', 'passthrough', 'alo', 'eos']
const LABEL: Record<Pipeline, string> = {
  kcat: 'kcat pipe (librdkafka)',
  passthrough: 'kafkajs passthrough',
  alo: 'assetstream at-least-once',
  eos: 'assetstream exactly-once',
  'alo-ref': 'reference build, at-least-once',
  'eos-ref': 'reference build, exactly-once',
}
const isProcessor = (p: Pipeline): boolean => p !== 'kcat' && p !== 'passthrough'
const guaranteeOf = (p: Pipeline): string =>
  p === 'alo' || p === 'alo-ref' ? 'at-least-once' : 'exactly-once'

interface Options {
  readonly messages: number
  readonly soakSeconds: number
  readonly latencySeconds: number
  readonly rate: number | undefined
  readonly soakLineageTtlMs: number
  readonly rounds: number
  readonly only: ReadonlySet<Pipeline | 'soak'>
  readonly profile: boolean
  readonly seed: number
  readonly brokers: string
  readonly registryUrl: string
  readonly out: string
  readonly keepTopics: boolean
  readonly refCli: string | undefined
  readonly cluster: boolean
  readonly failoverEvery: number
}

function failoverEvery(text: string | undefined, cluster: boolean): number {
  if (text === undefined) return 0
  const n = Number(text)
  if (!Number.isInteger(n) || n < FAILOVER_WINDOW_S)
    throw new Error(
      `--failover-every must be an integer ≥ ${FAILOVER_WINDOW_S}, got ${JSON.stringify(text)}`,
    )
  if (!cluster) throw new Error('--failover-every needs --cluster')
  return n
}

function parseOptions(): Options | undefined {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' },
      'soak-seconds': { type: 'string' },
      'latency-seconds': { type: 'string' },
      rate: { type: 'string' },
      'soak-lineage-ttl-ms': { type: 'string' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'boolean' },
      seed: { type: 'string' },
      brokers: { type: 'string' },
      'registry-url': { type: 'string' },
      out: { type: 'string' },
      'keep-topics': { type: 'boolean' },
      'ref-cli': { type: 'string' },
      cluster: { type: 'boolean' },
      'failover-every': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help === true) {
    process.stdout.write(HELP)
    return undefined
  }
  const int = (name: string, text: string | undefined, fallback: number, min = 1): number => {
    if (text === undefined) return fallback
    const n = Number(text)
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(text)}`)
    return n
  }
  const all = [...PIPELINES, 'soak'] as const
  const only = new Set(
    (values.only ?? all.join(','))
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  )
  for (const o of only)
    if (!(all as readonly string[]).includes(o))
      throw new Error(`--only: unknown ${JSON.stringify(o)} (expected ${all.join(', ')})`)
  return {
    messages: int('messages', values.messages, 200_000),
    soakSeconds: int('soak-seconds', values['soak-seconds'], 600, 0),
    latencySeconds: int('latency-seconds', values['latency-seconds'], 60),
    rate: values.rate === undefined ? undefined : int('rate', values.rate, 0),
    soakLineageTtlMs: int('soak-lineage-ttl-ms', values['soak-lineage-ttl-ms'], 10_000),
    rounds: int('rounds', values.rounds, 1),
    only: only as Set<Pipeline | 'soak'>,
    profile: values.profile === true,
    seed: int('seed', values.seed, 1),
    brokers: values.brokers ?? (values.cluster === true ? CLUSTER_BROKERS : DEFAULT_BROKERS),
    registryUrl: values['registry-url'] ?? DEFAULT_REGISTRY,
    out: values.out ?? join(ROOT, 'bench/results/latest.json'),
    keepTopics: values['keep-topics'] === true,
    refCli: values['ref-cli'],
    cluster: values.cluster === true,
    failoverEvery: failoverEvery(values['failover-every'], values.cluster === true),
  }
}

const log = (text: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`)
}
const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || !Number.isFinite(n)
    ? '—'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

// ---------------------------------------------------------------------------------------------
// Environment: machine, stack, kcat

function machine() {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    total_memory_mb: Math.round(os.totalmem() / 2 ** 20),
    loadavg_at_start: os.loadavg().map((x) => round(x, 2)),
  }
}

const STACK = join(ROOT, 'stack/stack.sh')
const execFileAsync = promisify(execFile)

function ensureStack(options: Options): void {
  const [status, up] = options.cluster ? ['cluster-status', 'cluster-up'] : ['status', 'up']
  const brokers = options.cluster ? CLUSTER_BROKERS : DEFAULT_BROKERS
  if (options.brokers !== brokers || options.registryUrl !== DEFAULT_REGISTRY) return
  if (spawnSync('bash', [STACK, status], { stdio: 'ignore' }).status === 0) return
  log(`the local stack is down: bash stack/stack.sh ${up}`)
  const r = spawnSync('bash', [STACK, up], { stdio: ['ignore', 'inherit', 'inherit'] })
  if (r.status !== 0) throw new Error(`bash stack/stack.sh ${up} failed`)
}

/** Replication factor of the topics the benchmark and its processors create. */
const replicationOf = (options: Options): number => (options.cluster ? 3 : 1)

/** kcat's path, installing the Debian package when missing and possible; undefined otherwise. */
function ensureKcat(): { path: string | undefined; note: string } {
  const which = (): string | undefined => {
    const r = spawnSync('sh', ['-c', 'command -v kcat'], { encoding: 'utf8' })
    return r.status === 0 ? r.stdout.trim() : undefined
  }
  let path = which()
  if (path !== undefined) return { path, note: 'found' }
  if (process.getuid?.() !== 0)
    return { path, note: 'kcat is not installed (apt-get install -y kcat, as root)' }
  log('kcat missing: apt-get install -y kcat')
  const install = (): boolean =>
    spawnSync('apt-get', ['install', '-y', 'kcat'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0
  if (!install()) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore' })
    install()
  }
  path = which()
  return path === undefined
    ? { path, note: 'kcat is not installed and apt-get install -y kcat failed' }
    : { path, note: 'installed with apt-get' }
}

// ---------------------------------------------------------------------------------------------
// Workload

interface Workload {
  readonly messages: { key: string; value: Buffer }[]
  readonly stats: {
    readonly messages: number
    readonly bytes: number
    readonly avg_bytes: number
    readonly flow_runs: number
    readonly task_runs: number
    readonly materializing_task_share: number
    readonly materializing_message_share: number
    readonly messages_with_metadata: number
    readonly messages_with_artifacts: number
    readonly expected_events: number
    readonly events_per_message: number
    readonly events_by_type: Record<string, number>
    /** Materializing final attempts by number of upstream assets (referenced events). */
    readonly upstream_assets_histogram: Record<string, number>
    /** Upstream task-run references `derive` finds no lineage for (no expiry): the workload's own. */
    readonly unknown_upstreams_per_1000_messages: number
  }
}

/** The messages, serialised, and what `derive` makes of them (the expected event count). */
function buildWorkload(n: number, seed: number): Workload {
  const messages: { key: string; value: Buffer }[] = []
  const flowRuns = new Set<string>()
  const taskRuns = new Map<string, boolean>()
  let bytes = 0
  let materializingMessages = 0
  let withMetadata = 0
  let withArtifacts = 0
  for (const m of generateWorkload({ messages: n, seed })) {
    const value = Buffer.from(JSON.stringify(m.value), 'utf8')
    bytes += value.length
    messages.push({ key: m.key, value })
    const v: LifecycleJson = m.value
    if (v.flow_run?.id !== undefined) flowRuns.add(v.flow_run.id)
    const mat = (v.assets?.materializes?.length ?? 0) > 0
    taskRuns.set(v.task_run.id, (taskRuns.get(v.task_run.id) ?? false) || mat)
    if (mat) materializingMessages++
    if (v.assets?.metadata !== undefined) withMetadata++
    if (v.artifacts !== undefined) withArtifacts++
  }
  const store = new MemoryLineageStore()
  const byType: Record<string, number> = {}
  const upstream: Record<string, number> = {}
  let events = 0
  let unknownUpstreams = 0
  for (const { value } of messages) {
    const d = decodeJson(value.toString('utf8'))
    const o = d.ok ? processValue(d.value, store, { runContext: true }) : undefined
    if (o === undefined || !o.ok) throw new Error('the workload has a message derive rejects')
    events += o.events.length
    unknownUpstreams += o.unknownUpstreams
    let referenced = 0
    let materialized = 0
    for (const e of o.events) {
      byType[e.event] = (byType[e.event] ?? 0) + 1
      if (e.event === 'prefect.asset.referenced') referenced++
      if (e.event.startsWith('prefect.asset.materialization')) materialized++
    }
    if (materialized > 0) upstream[String(referenced)] = (upstream[String(referenced)] ?? 0) + 1
  }
  const materializingTasks = [...taskRuns.values()].filter((x) => x).length
  return {
    messages,
    stats: {
      messages: n,
      bytes,
      avg_bytes: Math.round(bytes / n),
      flow_runs: flowRuns.size,
      task_runs: taskRuns.size,
      materializing_task_share: round(materializingTasks / taskRuns.size, 3),
      materializing_message_share: round(materializingMessages / n, 3),
      messages_with_metadata: withMetadata,
      messages_with_artifacts: withArtifacts,
      expected_events: events,
      events_per_message: round(events / n, 4),
      events_by_type: byType,
      upstream_assets_histogram: upstream,
      unknown_upstreams_per_1000_messages: round((1000 * unknownUpstreams) / n, 3),
    },
  }
}

async function produceAll(
  kafka: Kafka,
  topic: string,
  messages: readonly { key: string; value: Buffer }[],
): Promise<void> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  })
  await producer.connect()
  try {
    for (let i = 0; i < messages.length; i += 1000)
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) })
  } finally {
    await producer.disconnect()
  }
}

// ---------------------------------------------------------------------------------------------
// Broker-side progress

async function committed(admin: Admin, groupId: string, topic: string): Promise<number> {
  const r = await admin.fetchOffsets({ groupId, topics: [topic] })
  let n = 0
  for (const t of r) for (const p of t.partitions) n += Math.max(0, Number(p.offset))
  return n
}

async function endOffsets(admin: Admin, topic: string): Promise<number> {
  let n = 0
  for (const p of await admin.fetchTopicOffsets(topic)) n += Number(p.high)
  return n
}

// ---------------------------------------------------------------------------------------------
// Throughput runs

interface ThroughputRun {
  readonly pipeline: Pipeline
  readonly ok: boolean
  readonly error?: string
  /** Messages counted in the window (N less those done at its first poll). */
  readonly window_messages?: number
  readonly window_s?: number
  readonly msgs_per_s?: number
  readonly records_out?: number
  readonly records_out_per_s?: number
  /** From the child's start to the last message done. */
  readonly wall_s?: number
  readonly peak_rss_mb?: number
  /** CPU cores the pipeline's process(es) used over the window (1 = one core busy all along). */
  readonly cpu_cores?: number
  /** CPU time of the pipeline per message, µs. */
  readonly cpu_us_per_msg?: number
  /** CPU cores the broker JVM used over the window. */
  readonly broker_cpu_cores?: number
  /** The processor's heap and external memory at the end, and its lineage estimate, MB. */
  readonly heap_used_mb?: number
  readonly external_mb?: number
  readonly lineage_mb?: number
  /** Records written to the lineage changelog (end offsets; exactly once: with markers). */
  readonly changelog_records?: number
  readonly dead_letters?: number
  readonly retries?: number
  readonly method: string
  readonly profile?: ProfileSummary
}

interface RunContext {
  readonly options: Options
  readonly run: string
  readonly kafka: Kafka
  readonly admin: Admin
  readonly input: string
  readonly workload: Workload
  readonly logDir: string
  readonly kcat: string | undefined
  /** The CPU of the local stack's broker JVMs (none read when it does not run them). */
  readonly brokerCpu: () => BrokerCpuReading
  readonly children: Set<Child>
  /** Consumer groups and subject prefixes to delete at the end. */
  readonly groups: Set<string>
  readonly prefixes: Set<string>
}

function processorEnv(
  ctx: RunContext,
  name: string,
  input: string,
  extra: Record<string, string>,
): Record<string, string> {
  const prefix = `${ctx.run}.${name}.`
  ctx.prefixes.add(prefix)
  ctx.groups.add(`${ctx.run}-${name}`)
  return {
    ASSETSTREAM_BROKERS: ctx.options.brokers,
    ASSETSTREAM_REGISTRY_URL: ctx.options.registryUrl,
    ASSETSTREAM_CLIENT_ID: `${ctx.run}-${name}`,
    ASSETSTREAM_GROUP_ID: `${ctx.run}-${name}`,
    ASSETSTREAM_INPUT_TOPIC: input,
    ASSETSTREAM_TOPIC_PREFIX: prefix,
    ASSETSTREAM_DLQ_TOPIC: `${prefix}dlq`,
    ASSETSTREAM_REPLICATION_FACTOR: String(replicationOf(ctx.options)),
    ASSETSTREAM_METRICS_PORT: '0',
    ASSETSTREAM_LOG_LEVEL: 'info',
    ...extra,
  }
}

function profileDir(ctx: RunContext, name: string): string {
  const dir = join(dirname(ctx.options.out), 'profiles', `${ctx.run}-${name}`)
  mkdirSync(dir, { recursive: true })
  return dir
}

/**
 * The Node flags of a deployed processor (the Dockerfile's NODE_OPTIONS), given to every Node
 * pipeline alike: a 4 MiB young generation semi-space instead of V8's 16 MiB cuts peak RSS by
 * ~50 MB at no measurable CPU cost here (bench/README.md, "Memory").
 */
export const DEPLOYMENT_NODE_FLAGS = ['--max-semi-space-size=4']

/** Node flags of a child: the deployment's, and the CPU profiler with --profile. */
function nodeArgs(ctx: RunContext, name: string): string[] {
  if (!ctx.options.profile) return DEPLOYMENT_NODE_FLAGS
  return [...DEPLOYMENT_NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${profileDir(ctx, name)}`]
}

function readProfile(ctx: RunContext, name: string): ProfileSummary | undefined {
  if (!ctx.options.profile) return undefined
  const dir = profileDir(ctx, name)
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (file === undefined) return undefined
  const summary = summarizeProfile(loadProfile(join(dir, file)), 30)
  const text = formatProfile(`${name} (${join(dir, file)})`, summary)
  writeFileSync(join(dir, 'summary.txt'), `${text}\n`)
  process.stderr.write(`${text}\n`)
  return summary
}

function startPipeline(ctx: RunContext, pipeline: Pipeline, round_: number): Child {
  const name = `${pipeline}${round_}`
  const logFile = join(ctx.logDir, `${name}.log`)
  let child: Child
  switch (pipeline) {
    case 'kcat': {
      const b = ctx.options.brokers
      const k = ctx.kcat as string
      const out = `${ctx.run}.${name}.out`
      const cmd =
        `set -o pipefail; ${k} -C -b ${b} -t ${ctx.input} -o beginning -e -q -f '%k\\t%s\\n'` +
        ` | ${k} -P -b ${b} -t ${out} -K '\\t' -z none -X acks=all -X enable.idempotence=true` +
        ` -X topic.partitioner=murmur2_random`
      child = new Child(name, 'bash', ['-c', cmd], logFile, { detached: true })
      break
    }
    case 'passthrough':
      ctx.groups.add(`${ctx.run}-${name}`)
      child = new Child(
        name,
        process.execPath,
        [
          ...nodeArgs(ctx, name),
          PASSTHROUGH,
          '--brokers',
          ctx.options.brokers,
          '--input',
          ctx.input,
          '--output',
          `${ctx.run}.${name}.out`,
          '--group',
          `${ctx.run}-${name}`,
          '--partitions-concurrently',
          String(PARTITIONS),
        ],
        logFile,
        { env: process.env },
      )
      break
    case 'alo':
    case 'eos':
    case 'alo-ref':
    case 'eos-ref': {
      const cli = pipeline.endsWith('-ref') ? (ctx.options.refCli as string) : CLI
      child = new Child(name, process.execPath, [...nodeArgs(ctx, name), cli, 'run'], logFile, {
        env: {
          ...process.env,
          ...processorEnv(ctx, name, ctx.input, { ASSETSTREAM_GUARANTEE: guaranteeOf(pipeline) }),
        },
      })
      break
    }
  }
  ctx.children.add(child)
  return child
}

const OPS_PORT = /"port":(\d+)[^\n]*ops endpoint listening/

async function measureThroughput(
  ctx: RunContext,
  pipeline: Pipeline,
  round_: number,
): Promise<ThroughputRun> {
  const name = `${pipeline}${round_}`
  const n = ctx.options.messages
  const group = `${ctx.run}-${name}`
  const outTopic = `${ctx.run}.${name}.out`
  const method =
    pipeline === 'kcat'
      ? 'output topic end offsets, polled every 100 ms'
      : 'consumer group committed offsets, polled every 100 ms'
  if (pipeline === 'kcat' || pipeline === 'passthrough')
    await ctx.admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: outTopic,
          numPartitions: PARTITIONS,
          replicationFactor: replicationOf(ctx.options),
        },
      ],
    })
  log(`${LABEL[pipeline]}: starting (round ${round_ + 1})`)
  const t0 = performance.now()
  const child = startPipeline(ctx, pipeline, round_)
  const progress = (): Promise<number> =>
    pipeline === 'kcat' ? endOffsets(ctx.admin, outTopic) : committed(ctx.admin, group, ctx.input)
  let first: { t: number; n: number; cpu: number; broker: BrokerCpuReading } | undefined
  /** The pipeline's CPU seconds (the child's; kcat's are not counted). */
  const cpu = (): number => (pipeline === 'kcat' ? 0 : (procCpuSeconds(child.pid) ?? 0))
  let done: number | undefined
  let last = { t: performance.now(), n: 0 }
  let peakRss = 0
  let cpuDone = 0
  let brokerDone = ctx.brokerCpu()
  try {
    while (done === undefined) {
      await sleep(POLL_MS)
      const k = await progress().catch(() => last.n)
      const t = performance.now()
      if (pipeline !== 'kcat') peakRss = Math.max(peakRss, procStatusMb(child.pid, 'VmRSS') ?? 0)
      if (k > last.n) last = { t, n: k }
      if (first === undefined && k > 0) first = { t, n: k, cpu: cpu(), broker: ctx.brokerCpu() }
      if (k >= n) {
        done = t
        cpuDone = cpu()
        brokerDone = ctx.brokerCpu()
      } else if (!child.running && pipeline !== 'kcat')
        throw new Error(`${name} exited early:\n${child.tail.slice(-3000)}`)
      else if (t - last.t > 120_000)
        throw new Error(`${name}: no progress for 120 s at ${k}/${n}:\n${child.tail.slice(-3000)}`)
    }
    const hwm = pipeline === 'kcat' ? undefined : procStatusMb(child.pid, 'VmHWM')
    let recordsPerMessage = 1
    let deadLetters: number | undefined
    let retries: number | undefined
    let memory: Partial<Record<'heap_used_mb' | 'external_mb' | 'lineage_mb', number>> = {}
    let changelogRecords: number | undefined
    if (isProcessor(pipeline)) {
      changelogRecords = await endOffsets(ctx.admin, `${group}-lineage-changelog`).catch(
        () => undefined,
      )
      const port = OPS_PORT.exec(child.tail)?.[1]
      const text =
        port === undefined ? undefined : await fetchText(`http://127.0.0.1:${port}/metrics`)
      if (text !== undefined) {
        const events = metricSum(text, 'assetstream_events_published_total') ?? 0
        const consumed = metricSum(text, 'assetstream_messages_consumed_total') ?? n
        recordsPerMessage = events / Math.max(1, consumed)
        deadLetters = metricSum(text, 'assetstream_dead_letters_total') ?? 0
        retries = metricSum(text, 'assetstream_batch_retries_total') ?? 0
        const mb = (name: string): number | undefined => {
          const v = metricSum(text, name)
          return v === undefined ? undefined : round(v / 2 ** 20, 1)
        }
        memory = {
          ...optional('heap_used_mb', mb('assetstream_nodejs_heap_size_used_bytes')),
          ...optional('external_mb', mb('assetstream_nodejs_external_memory_bytes')),
          ...optional('lineage_mb', mb('assetstream_lineage_bytes')),
        }
        if (events < ctx.workload.stats.expected_events)
          log(
            `WARNING ${name}: ${events} events published, derive expects ${ctx.workload.stats.expected_events}`,
          )
      }
    }
    const code = pipeline === 'kcat' ? await child.exited : await child.stop()
    if (code !== 0) log(`${name} exited ${code}`)
    const f = first as { t: number; n: number; cpu: number; broker: BrokerCpuReading }
    const windowS = (done - f.t) / 1000
    const windowMessages = n - f.n
    const msgsPerS = windowMessages / windowS
    const run: ThroughputRun = {
      pipeline,
      ok: true,
      window_messages: windowMessages,
      window_s: round(windowS, 3),
      msgs_per_s: Math.round(msgsPerS),
      records_out: isProcessor(pipeline) ? Math.round(recordsPerMessage * n) : n,
      records_out_per_s: Math.round(msgsPerS * recordsPerMessage),
      wall_s: round((done - t0) / 1000, 2),
      ...(hwm === undefined ? {} : { peak_rss_mb: round(Math.max(hwm, peakRss), 1) }),
      // kcat's consumer exits before the end: its CPU time is not counted
      ...(pipeline === 'kcat'
        ? {}
        : {
            cpu_cores: round((cpuDone - f.cpu) / windowS, 2),
            cpu_us_per_msg: round(((cpuDone - f.cpu) * 1e6) / windowMessages, 1),
          }),
      ...optional('broker_cpu_cores', brokerCores(f.broker, brokerDone, windowS)),
      ...memory,
      ...optional('changelog_records', changelogRecords),
      ...(deadLetters === undefined ? {} : { dead_letters: deadLetters }),
      ...(retries === undefined ? {} : { retries }),
      method,
    }
    const profile = pipeline === 'kcat' ? undefined : readProfile(ctx, name)
    log(
      `${LABEL[pipeline]}: ${fmt(run.msgs_per_s)} msgs/s, ${fmt(run.records_out_per_s)} records/s out` +
        ` (${fmt(windowMessages)} in ${round(windowS, 2)} s;` +
        (run.cpu_cores === undefined
          ? ''
          : ` CPU ${run.cpu_cores} cores, ${run.cpu_us_per_msg} µs/msg;`) +
        ` broker ${run.broker_cpu_cores ?? '?'} cores)` +
        (run.peak_rss_mb === undefined ? '' : `, peak RSS ${run.peak_rss_mb} MB`),
    )
    return profile === undefined ? run : { ...run, profile }
  } catch (e) {
    log(`${LABEL[pipeline]} failed: ${(e as Error).message}`)
    return { pipeline, ok: false, error: (e as Error).message.slice(0, 2000), method }
  } finally {
    if (child.running) {
      if (pipeline === 'kcat') killGroup(child)
      await child.stop(10_000)
    }
    ctx.children.delete(child)
  }
}

/** An optional field: `{name: value}`, or nothing when the value is undefined. */
function optional<K extends string, V>(name: K, value: V | undefined): { [k in K]?: V } {
  return value === undefined ? {} : ({ [name]: value } as { [k in K]?: V })
}

/** The broker JVMs' CPU seconds, with the pids read (a restarted broker has a new one). */
interface BrokerCpuReading {
  readonly pids: string
  readonly seconds: number
}

/**
 * Reads the CPU of the local stack's broker JVMs: the single broker, or with `--cluster` the
 * cluster's controller and three brokers (no pids when none runs here).
 */
function brokerCpuReader(cluster: boolean): () => BrokerCpuReading {
  const files = cluster
    ? ['controller', 'broker1', 'broker2', 'broker3'].map((n) =>
        join(ROOT, '.stack/cluster', n, 'node.pid'),
      )
    : [join(ROOT, '.stack/kafka/broker.pid')]
  const read = (): BrokerCpuReading => {
    const pids: number[] = []
    let seconds = 0
    for (const file of files) {
      let pid: number
      try {
        pid = Number(readFileSync(file, 'utf8').trim())
      } catch {
        continue // not running
      }
      const s = Number.isInteger(pid) ? procCpuSeconds(pid) : undefined
      if (s === undefined) continue
      pids.push(pid)
      seconds += s
    }
    return { pids: pids.join(','), seconds }
  }
  return read
}

/** Broker cores between two readings; none without brokers, or when one stopped or restarted. */
function brokerCores(
  a: BrokerCpuReading,
  b: BrokerCpuReading,
  seconds: number,
): number | undefined {
  return a.pids === b.pids && a.pids !== ''
    ? round((b.seconds - a.seconds) / seconds, 2)
    : undefined
}

/** A Prometheus histogram's cumulative share of observations per bucket bound, in ms. */
function histogramShares(text: string, name: string): Record<string, number> {
  const buckets: [number, number][] = []
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)`).exec(line)
    if (m !== null) buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])])
  }
  const total = buckets.find(([le]) => le === Infinity)?.[1] ?? 0
  const out: Record<string, number> = {}
  if (total === 0) return out
  for (const [le, n] of buckets)
    if (le !== Infinity && le <= 1) out[String(le * 1000)] = round(n / total, 4)
  return out
}

function killGroup(child: Child): void {
  try {
    process.kill(-child.pid, 'SIGTERM') // the kcat pipe runs in its own process group
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------------------
// Latency and soak

interface SoakRun {
  readonly ok: boolean
  readonly error?: string
  readonly rate_target: number
  readonly rate_achieved?: number
  readonly seconds?: number
  readonly messages_sent?: number
  readonly events_seen?: number
  readonly events_unmatched?: number
  readonly backlog_at_end?: number
  readonly lineage_ttl_ms: number
  /** Over the latency window (after a 10 s warm-up). */
  readonly latency?: LatencySummary | null
  readonly latency_window_s?: [number, number]
  /** Over the whole run after the warm-up. */
  readonly latency_soak?: LatencySummary | null
  readonly peak_rss_mb?: number
  readonly rss_start_mb?: number
  readonly rss_end_mb?: number
  readonly rss_max_mb?: number
  readonly rss_growth_mb_per_min?: number | null
  readonly rss_warmup_s?: number
  readonly lineage_entries_end?: number
  readonly lineage_mb_end?: number
  readonly lineage_growth_mb_per_min?: number | null
  /** The processor's own view (its latency histogram: record timestamp → acknowledged). */
  readonly processor_latency_share_within_ms?: Record<string, number>
  readonly processor_unknown_upstreams?: number
  readonly processor_dead_letters?: number
  /** Batches the processor handled per second (each: a produce and an offset commit). */
  readonly processor_batches_per_s?: number
  /** CPU cores the processor and the broker used over the paced run. */
  readonly processor_cpu_cores?: number
  readonly broker_cpu_cores?: number
  /** Event-loop delay of the benchmark process itself (it produces and consumes), ms. */
  readonly bench_loop_delay_p99_ms?: number
  readonly bench_loop_delay_max_ms?: number
  readonly rss_samples?: readonly [number, number][]
  /** --failover-every: each kill -9 of a leader (seconds into the run, broker id). */
  readonly failovers?: readonly { readonly at_s: number; readonly broker: number }[]
  /** Over the run after the warm-up, without the FAILOVER_WINDOW_S after each failover. */
  readonly latency_steady?: LatencySummary | null
  /** Every event derive expects from the messages sent, looked for among those read. */
  readonly events_expected?: number
  readonly events_distinct?: number
  readonly events_missing?: number
  /** Distinct ids read that derive does not expect (an event derived without its lineage). */
  readonly events_unexpected?: number
}

const LATENCY_WARMUP_S = 10
/** How long a sent message's time is kept for matching its events. */
const MATCH_KEEP_MS = 30_000

async function latencySoak(ctx: RunContext, rate: number): Promise<SoakRun> {
  const { options } = ctx
  const seconds = Math.max(options.soakSeconds, LATENCY_WARMUP_S + options.latencySeconds)
  const input = `${ctx.run}.soak.task-run-lifecycle`
  const prefix = `${ctx.run}.soak.`
  const ttl = options.soakLineageTtlMs
  await ctx.admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: input, numPartitions: PARTITIONS, replicationFactor: replicationOf(ctx.options) },
    ],
  })
  log(`paced run: ${fmt(rate)} msgs/s for ${seconds} s (latency, then soak)`)
  const args = [...DEPLOYMENT_NODE_FLAGS, CLI, 'run']
  const child = new Child('soak', process.execPath, args, join(ctx.logDir, 'soak.log'), {
    env: {
      ...process.env,
      ...processorEnv(ctx, 'soak', input, { ASSETSTREAM_LINEAGE_TTL_MS: String(ttl) }),
    },
  })
  ctx.children.add(child)
  const group = `${ctx.run}-soak`
  const latencyGroup = `${ctx.run}-latency`
  ctx.groups.add(latencyGroup)
  const consumer = ctx.kafka.consumer({ groupId: latencyGroup, maxWaitTimeInMs: 500 })
  let worker: Worker | undefined
  const sent = new Map<string, number>()
  const windowLat = new Samples()
  const soakLat = new Samples()
  const steadyLat = new Samples()
  const seenIds = new IdSet()
  const failovers: { at_s: number; broker: number }[] = []
  const inFailoverWindow = (sentS: number): boolean =>
    options.failoverEvery > 0 &&
    sentS >= options.failoverEvery &&
    sentS % options.failoverEvery < FAILOVER_WINDOW_S
  let failing: Promise<void> = Promise.resolve()
  let scheduled = 0 // failovers started
  let eventsSeen = 0
  let unmatched = 0
  const rss: [number, number][] = []
  const lineage: [number, number][] = []
  let sampler: NodeJS.Timeout | undefined
  try {
    const port = Number((await child.waitFor(OPS_PORT, 60_000))[1])
    const base = `http://127.0.0.1:${port}`
    for (let until = Date.now() + 120_000; (await fetchStatus(`${base}/readyz`)) !== 200;) {
      if (!child.running || Date.now() > until)
        throw new Error(`the soak processor is not ready:\n${child.tail.slice(-3000)}`)
      await sleep(200)
    }
    let t0 = 0
    let joined = false
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true
    })
    await consumer.connect()
    await consumer.subscribe({
      topics: EVENT_NAMES.map((e) => `${prefix}${e}`),
      fromBeginning: true,
    })
    await consumer.run({
      // No commits (a commit per batch would delay the next fetch), every partition at once.
      autoCommit: false,
      partitionsConsumedConcurrently: EVENT_NAMES.length * PARTITIONS,
      eachBatch: ({ batch }) => {
        const now = absoluteNow()
        for (const m of batch.messages) {
          eventsSeen++
          const e = m.headers?.['assetstream.event.id']
          const eventId = e === undefined ? undefined : (Array.isArray(e) ? e[0] : e)?.toString()
          if (eventId !== undefined) seenIds.add(eventId)
          const h = m.headers?.['assetstream.source.message.id']
          const id = h === undefined ? undefined : (Array.isArray(h) ? h[0] : h)?.toString()
          const at = id === undefined ? undefined : sent.get(id)
          if (at === undefined) {
            unmatched++
            continue
          }
          const lat = now - at
          const sentS = (at - t0) / 1000
          if (sentS >= LATENCY_WARMUP_S) {
            soakLat.push(lat)
            if (!inFailoverWindow(sentS)) steadyLat.push(lat)
            if (sentS < LATENCY_WARMUP_S + options.latencySeconds) windowLat.push(lat)
          }
        }
        return Promise.resolve()
      },
    })
    for (let until = Date.now() + 60_000; !joined; await sleep(50))
      if (Date.now() > until) throw new Error('the latency consumer did not join its group')
    await sleep(1_000) // its first fetch is out

    // The first 5 minutes of an hour-long soak, else a minute at most.
    const warmupS = seconds >= 1800 ? 300 : Math.min(60, seconds / 3)
    const loopDelay = monitorEventLoopDelay({ resolution: 5 })
    // The producer runs in a worker thread: generating and sending never delays this thread,
    // which stamps the events as they arrive. It reports each request's ids and send time.
    const data: PacedProducerData = {
      brokers: options.brokers,
      topic: input,
      rate,
      seconds,
      seed: options.seed + 1000,
      clientId: `${ctx.run}-paced`,
    }
    const w = new Worker(PACED_PRODUCER, { workerData: data })
    worker = w
    let produced = 0
    let producedS = 0
    let cpu0 = 0
    let broker0 = ctx.brokerCpu()
    let batches0 = 0
    let nextLog = 60
    const finished = new Promise<void>((resolve, reject) => {
      w.on('error', reject)
      w.on('exit', (code) => reject(new Error(`the paced producer exited (${code})`)))
      w.on('message', (m: PacedProducerMessage) => {
        if ('sent' in m) {
          if (t0 === 0) {
            t0 = m.at
            cpu0 = procCpuSeconds(child.pid) ?? 0
            broker0 = ctx.brokerCpu()
            void fetchText(`${base}/metrics`).then((text) => {
              batches0 =
                text === undefined
                  ? 0
                  : (metricSum(text, 'assetstream_batch_duration_seconds_count') ?? 0)
            })
            loopDelay.enable()
            sampler = setInterval(sample, 1_000)
          }
          for (const id of m.sent) sent.set(id, m.at)
          produced += m.sent.length
          // Forget messages sent long ago (those without events are never matched).
          for (const [id, t] of sent) {
            if (m.at - t < MATCH_KEEP_MS) break
            sent.delete(id)
          }
          const elapsed = (m.at - t0) / 1000
          if (options.failoverEvery > 0 && elapsed >= (scheduled + 1) * options.failoverEvery) {
            scheduled++
            failing = failing.then(() =>
              failover(ctx, [input, ...eventTopicsOf(prefix)], elapsed, failovers),
            )
          }
          if (elapsed >= nextLog) {
            nextLog += 60
            const last = rss[rss.length - 1]
            log(
              `paced run: ${Math.round(elapsed)} s, ${fmt(produced)} sent, ${fmt(eventsSeen)} events seen` +
                (last === undefined ? '' : `, RSS ${last[1]} MB`),
            )
          }
        } else if ('done' in m) {
          producedS = m.seconds
          resolve()
        } else {
          reject(new Error(`the paced producer failed: ${m.error}`))
        }
      })
    })
    const sample = (): void => {
      const t = (absoluteNow() - t0) / 1000
      const mb = procStatusMb(child.pid, 'VmRSS')
      if (mb !== undefined) rss.push([round(t, 1), round(mb, 1)])
      if (rss.length % 15 === 0)
        void fetchText(`${base}/metrics`).then((text) => {
          const bytes =
            text === undefined ? undefined : metricSum(text, 'assetstream_lineage_bytes')
          if (bytes !== undefined) lineage.push([t, bytes / 2 ** 20])
        })
    }
    await finished
    await failing
    const cpu1 = procCpuSeconds(child.pid) ?? 0
    const broker1 = ctx.brokerCpu()
    loopDelay.disable()
    clearInterval(sampler)
    sampler = undefined
    // The backlog drains (up to a quarter of the run's length: a saturated machine falls behind),
    // then the latency consumer reads on until no new event arrives for 3 s: every event the
    // processor published is then counted before the expected ones are looked for.
    let backlog = produced
    const drainS = Math.max(30, seconds / 4)
    for (let until = Date.now() + drainS * 1000; Date.now() < until; await sleep(500)) {
      backlog = produced - (await committed(ctx.admin, group, input).catch(() => 0))
      if (backlog <= 0) break
    }
    log(`paced run: backlog ${fmt(Math.max(0, backlog))} messages after the drain`)
    for (let last = -1, until = Date.now() + 120_000; Date.now() < until; await sleep(3_000)) {
      if (eventsSeen === last) break
      last = eventsSeen
    }
    const hwm = procStatusMb(child.pid, 'VmHWM')
    const metrics = await fetchText(`${base}/metrics`)
    const after = rss.filter(([t]) => t >= warmupS)
    const growth = linearRegression(
      after.map(([t]) => t / 60),
      after.map(([, mb]) => mb),
    )
    const lineageAfter = lineage.filter(([t]) => t >= warmupS)
    const lineageGrowth = linearRegression(
      lineageAfter.map(([t]) => t / 60),
      lineageAfter.map(([, mb]) => mb),
    )
    const rssValues = rss.map(([, mb]) => mb)
    const { expected, missing } = missingEvents(data, produced, seenIds)
    log(
      `paced run: ${fmt(expected)} events expected from the ${fmt(produced)} messages sent, ${fmt(seenIds.size)} distinct read, ${fmt(missing)} missing`,
    )
    return {
      ok: true,
      rate_target: rate,
      rate_achieved: Math.round(produced / producedS),
      seconds: round(producedS, 1),
      messages_sent: produced,
      events_seen: eventsSeen,
      events_unmatched: unmatched,
      backlog_at_end: Math.max(0, backlog),
      lineage_ttl_ms: ttl,
      latency: summarizeLatencies(windowLat.values()),
      latency_window_s: [LATENCY_WARMUP_S, LATENCY_WARMUP_S + options.latencySeconds],
      latency_soak: summarizeLatencies(soakLat.values()),
      ...(hwm === undefined ? {} : { peak_rss_mb: round(hwm, 1) }),
      ...(rss.length === 0
        ? {}
        : {
            rss_start_mb: rssValues[0] as number,
            rss_end_mb: rssValues[rssValues.length - 1] as number,
            rss_max_mb: Math.max(...rssValues),
          }),
      rss_growth_mb_per_min: growth === null ? null : round(growth.slope, 3),
      rss_warmup_s: round(warmupS, 1),
      ...(metrics === undefined
        ? {}
        : {
            lineage_entries_end: metricSum(metrics, 'assetstream_lineage_entries') ?? 0,
            lineage_mb_end: round(
              (metricSum(metrics, 'assetstream_lineage_bytes') ?? 0) / 2 ** 20,
              2,
            ),
          }),
      lineage_growth_mb_per_min: lineageGrowth === null ? null : round(lineageGrowth.slope, 3),
      ...(metrics === undefined
        ? {}
        : {
            processor_latency_share_within_ms: histogramShares(
              metrics,
              'assetstream_message_latency_seconds',
            ),
            processor_unknown_upstreams:
              metricSum(metrics, 'assetstream_lineage_unknown_upstream_total') ?? 0,
            processor_dead_letters: metricSum(metrics, 'assetstream_dead_letters_total') ?? 0,
            processor_batches_per_s: Math.round(
              ((metricSum(metrics, 'assetstream_batch_duration_seconds_count') ?? 0) - batches0) /
                producedS,
            ),
          }),
      processor_cpu_cores: round((cpu1 - cpu0) / producedS, 2),
      ...optional('broker_cpu_cores', brokerCores(broker0, broker1, producedS)),
      bench_loop_delay_p99_ms: round(loopDelay.percentile(99) / 1e6, 1),
      bench_loop_delay_max_ms: round(loopDelay.max / 1e6, 1),
      rss_samples: rss,
      ...(options.failoverEvery > 0
        ? { failovers, latency_steady: summarizeLatencies(steadyLat.values()) }
        : {}),
      events_expected: expected,
      events_distinct: seenIds.size,
      events_missing: missing,
      events_unexpected: seenIds.size - (expected - missing),
    }
  } catch (e) {
    log(`paced run failed: ${(e as Error).message}`)
    return {
      ok: false,
      error: (e as Error).message.slice(0, 2000),
      rate_target: rate,
      lineage_ttl_ms: ttl,
    }
  } finally {
    if (sampler !== undefined) clearInterval(sampler)
    await worker?.terminate()
    await consumer.disconnect().catch(() => undefined)
    await child.stop()
    ctx.children.delete(child)
  }
}

const eventTopicsOf = (prefix: string): string[] => EVENT_NAMES.map((e) => `${prefix}${e}`)

/** Kills (-9) the broker leading most partitions of `topics`, and restarts it later. */
async function failover(
  ctx: RunContext,
  topics: readonly string[],
  elapsed: number,
  failovers: { at_s: number; broker: number }[],
): Promise<void> {
  const { topics: meta } = await ctx.admin.fetchTopicMetadata({ topics: [...topics] })
  const leads = new Map<number, number>()
  for (const t of meta)
    for (const p of t.partitions) leads.set(p.leader, (leads.get(p.leader) ?? 0) + 1)
  const broker = [...leads].sort((a, b) => b[1] - a[1])[0]?.[0]
  if (broker === undefined) return
  failovers.push({ at_s: round(elapsed, 1), broker })
  log(
    `failover at ${Math.round(elapsed)} s: kill -9 of broker ${broker}, leading ${leads.get(broker)} partitions`,
  )
  // Asynchronously: this thread stamps the events as they arrive.
  await execFileAsync('bash', [STACK, 'cluster-kill', String(broker)])
  await sleep(FAILOVER_DOWN_S * 1000)
  await execFileAsync('bash', [STACK, 'cluster-start', String(broker)])
}

/**
 * How many events `derive` gives for the first `produced` messages of the paced producer's
 * workload, and how many of them are not in `seen`. Lineage idle for a million messages is dropped
 * as it goes (the workload's flow runs span a few hundred): an hour's stream derives in bounded
 * memory, to the same events.
 */
function missingEvents(
  data: PacedProducerData,
  produced: number,
  seen: IdSet,
): { expected: number; missing: number } {
  let i = 0
  const store = new MemoryLineageStore(() => i)
  let expected = 0
  let missing = 0
  const total = Math.ceil(data.rate * data.seconds)
  for (const m of generateWorkload({ messages: total, seed: data.seed })) {
    if (i >= produced) break
    const d = decodeJson(JSON.stringify(m.value))
    const o = d.ok ? processValue(d.value, store, { runContext: true }) : undefined
    if (o?.ok === true)
      for (const e of o.events) {
        expected++
        if (!seen.has(e.id)) missing++
      }
    if (++i % 100_000 === 0)
      for (const k of store.idle(i - 1_000_000)) store.delete(k.flowRunId, k.taskRunId)
  }
  return { expected, missing }
}

// ---------------------------------------------------------------------------------------------
// Clean-up

async function cleanUp(ctx: RunContext): Promise<void> {
  for (const c of ctx.children) {
    if (c.name.startsWith('kcat')) killGroup(c)
    await c.stop(10_000)
  }
  if (ctx.options.keepTopics) return
  try {
    const topics = (await ctx.admin.listTopics()).filter((t) => t.startsWith(ctx.run))
    if (topics.length > 0) await ctx.admin.deleteTopics({ topics, timeout: 60_000 })
  } catch (e) {
    log(`deleting the run's topics failed: ${(e as Error).message}`)
  }
  try {
    if (ctx.groups.size > 0) await ctx.admin.deleteGroups([...ctx.groups])
  } catch {
    // a group that never committed does not exist
  }
  for (const prefix of ctx.prefixes) {
    for (const e of EVENT_NAMES) {
      const subject = `${ctx.options.registryUrl}/subjects/${encodeURIComponent(`${prefix}${e}-value`)}`
      await fetch(subject, { method: 'DELETE' }).catch(() => undefined)
      await fetch(`${subject}?permanent=true`, { method: 'DELETE' }).catch(() => undefined)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Report

/** The median run of each pipeline by msgs/s (the lower middle of an even count), or null. */
function pick(runs: readonly ThroughputRun[], p: Pipeline): ThroughputRun | null {
  const ok = runs
    .filter((r) => r.pipeline === p && r.ok && r.msgs_per_s !== undefined)
    .sort((a, b) => (a.msgs_per_s as number) - (b.msgs_per_s as number))
  return ok[Math.floor((ok.length - 1) / 2)] ?? null
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : round(a / b, 3)

function target(value: number | null, limit: number, atLeast: boolean) {
  return {
    value,
    target: `${atLeast ? '≥' : '≤'} ${limit}`,
    met: value === null ? null : atLeast ? value >= limit : value <= limit,
  }
}

async function main(): Promise<number> {
  const options = parseOptions()
  if (options === undefined) return 0
  const started = new Date()
  const mach = machine()
  log(
    `machine: ${mach.cpu}, ${mach.cores} cores, ${mach.total_memory_mb} MB, node ${mach.node}, load ${mach.loadavg_at_start.join(' ')}`,
  )
  ensureStack(options)
  const wantKcat = options.only.has('kcat')
  const kcat = wantKcat ? ensureKcat() : { path: undefined, note: 'not run (--only)' }
  if (wantKcat && kcat.path === undefined) log(`kcat baseline skipped: ${kcat.note}`)

  log(`generating ${fmt(options.messages)} messages (seed ${options.seed})`)
  const workload = buildWorkload(options.messages, options.seed)
  const ws = workload.stats
  log(
    `workload: ${fmt(ws.bytes / 2 ** 20, 1)} MB, ${ws.avg_bytes} B/message, ${fmt(ws.flow_runs)} flow runs, ` +
      `${fmt(ws.task_runs)} task runs (${Math.round(ws.materializing_task_share * 100)}% materializing), ` +
      `${fmt(ws.expected_events)} events expected (${ws.events_per_message}/message)`,
  )

  const run = `bench-${started.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(2).toString('hex')}`
  const logDir = join(dirname(options.out), 'logs', run)
  mkdirSync(logDir, { recursive: true })
  const logger = createLogger('error', 'bench')
  const kafka = createKafka({ brokers: options.brokers.split(','), clientId: run }, logger)
  const admin = kafka.admin()
  await admin.connect()
  const input = `${run}.task-run-lifecycle`
  const ctx: RunContext = {
    options,
    run,
    kafka,
    admin,
    input,
    workload,
    logDir,
    kcat: kcat.path,
    brokerCpu: brokerCpuReader(options.cluster),
    children: new Set(),
    groups: new Set(),
    prefixes: new Set(),
  }
  const onSignal = (): void => {
    log('interrupted: cleaning up')
    void cleanUp(ctx).finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const runs: ThroughputRun[] = []
  let soak: SoakRun | undefined
  try {
    const pipelines = PIPELINES.filter(
      (p) => options.only.has(p) && (p !== 'kcat' || kcat.path !== undefined),
    )
    if (pipelines.length > 0 || (options.only.has('soak') && options.rate === undefined)) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: input, numPartitions: PARTITIONS, replicationFactor: replicationOf(options) },
        ],
      })
      const tp = performance.now()
      await produceAll(kafka, input, workload.messages)
      log(
        `input topic ${input}: ${fmt(options.messages)} messages in ${round((performance.now() - tp) / 1000, 1)} s`,
      )
    }
    const base: readonly Pipeline[] =
      pipelines.length > 0
        ? pipelines
        : options.only.has('soak') && options.rate === undefined
          ? ['alo']
          : []
    const throughputPipelines = base.flatMap((p): Pipeline[] =>
      options.refCli !== undefined && (p === 'alo' || p === 'eos') ? [p, `${p}-ref`] : [p],
    )
    for (let r = 0; r < options.rounds; r++)
      for (const p of throughputPipelines) {
        log(
          `load average ${os
            .loadavg()
            .map((x) => round(x, 2))
            .join(' ')}`,
        )
        runs.push(await measureThroughput(ctx, p, r))
      }
    const aloRate = pick(runs, 'alo')?.msgs_per_s
    if (options.only.has('soak')) {
      const rate = options.rate ?? (aloRate === undefined ? undefined : Math.round(aloRate / 2))
      if (rate === undefined) log('paced run skipped: no at-least-once rate (give --rate)')
      else soak = await latencySoak(ctx, rate)
    }
  } finally {
    await cleanUp(ctx)
    await admin.disconnect().catch(() => undefined)
  }

  const best = Object.fromEntries(
    (['kcat', 'passthrough', 'alo', 'eos', 'alo-ref', 'eos-ref'] as const).map((p) => [
      p,
      pick(runs, p),
    ]),
  ) as Record<Pipeline, ThroughputRun | null>
  const rss = [best.alo?.peak_rss_mb, best.eos?.peak_rss_mb, soak?.peak_rss_mb].filter(
    (x): x is number => x !== undefined,
  )
  const peakRss = rss.length === 0 ? null : Math.max(...rss)
  const aloVsPass = ratio(best.alo?.msgs_per_s, best.passthrough?.msgs_per_s)
  const eosVsAlo = ratio(best.eos?.msgs_per_s, best.alo?.msgs_per_s)
  const p99 = soak?.latency?.p99_ms ?? null
  const growth = soak?.rss_growth_mb_per_min ?? null
  const results = {
    benchmark: 'kafka',
    date: started.toISOString(),
    run,
    machine: { ...mach, loadavg_at_end: os.loadavg().map((x) => round(x, 2)) },
    options: {
      messages: options.messages,
      soak_seconds: options.soakSeconds,
      latency_seconds: options.latencySeconds,
      rounds: options.rounds,
      seed: options.seed,
      partitions: PARTITIONS,
      profiled: options.profile,
      soak_lineage_ttl_ms: options.soakLineageTtlMs,
      node_flags: DEPLOYMENT_NODE_FLAGS,
    },
    workload: ws,
    alo_msgs_per_s: best.alo?.msgs_per_s ?? null,
    alo_events_per_s: best.alo?.records_out_per_s ?? null,
    eos_msgs_per_s: best.eos?.msgs_per_s ?? null,
    eos_events_per_s: best.eos?.records_out_per_s ?? null,
    passthrough_msgs_per_s: best.passthrough?.msgs_per_s ?? null,
    kcat_msgs_per_s: best.kcat?.msgs_per_s ?? null,
    latency_rate_msgs_per_s: soak?.rate_target ?? null,
    p50_ms: soak?.latency?.p50_ms ?? null,
    p99_ms: p99,
    max_ms: soak?.latency?.max_ms ?? null,
    peak_rss_mb: peakRss,
    soak_rss_growth_mb_per_min: growth,
    targets: {
      alo_vs_passthrough: target(aloVsPass, TARGETS.alo_vs_passthrough, true),
      eos_vs_alo: target(eosVsAlo, TARGETS.eos_vs_alo, true),
      p99_ms: target(p99, TARGETS.p99_ms, false),
      peak_rss_mb: target(peakRss, TARGETS.peak_rss_mb, false),
      soak_rss_growth_mb_per_min: target(growth, TARGETS.soak_rss_growth_mb_per_min, false),
    },
    methods: {
      throughput:
        'each pipeline reads the whole input topic from the beginning; window from the first 100 ms poll that sees progress to the poll that sees every message done (committed offsets; kcat: output end offsets); messages done at the first poll are not counted',
      events_per_s: 'msgs/s × events per message, from the processor /metrics',
      kcat: `kcat -C -b B -t IN -o beginning -e -q -f '%k\\t%s\\n' | kcat -P -b B -t OUT -K '\\t' -z none -X acks=all -X enable.idempotence=true -X topic.partitioner=murmur2_random (${kcat.note})`,
      passthrough:
        'src/bench/kafka/passthrough.ts: eachBatch, partitionsConsumedConcurrently 4, sendBatch acks=-1 on one idempotent producer (maxInFlightRequests 1), commit after each batch',
      latency:
        'paced kafkajs producer into a fresh input topic; consumer on the event topics; latency = event seen − message handed to the producer, per event, messages sent in the window',
      rss: '/proc/<pid>/status VmHWM (peak) and VmRSS each second; growth = least-squares slope after the warm-up',
    },
    ...(options.refCli === undefined
      ? {}
      : {
          reference: {
            cli: options.refCli,
            alo_msgs_per_s: best['alo-ref']?.msgs_per_s ?? null,
            eos_msgs_per_s: best['eos-ref']?.msgs_per_s ?? null,
            alo_peak_rss_mb: best['alo-ref']?.peak_rss_mb ?? null,
            eos_peak_rss_mb: best['eos-ref']?.peak_rss_mb ?? null,
          },
        }),
    throughput_runs: runs,
    soak: soak ?? null,
  }
  mkdirSync(dirname(options.out), { recursive: true })
  writeFileSync(`${options.out}.tmp`, `${JSON.stringify(results, null, 2)}\n`)
  renameSync(`${options.out}.tmp`, options.out)
  process.stdout.write(report(results, best, soak))
  process.stdout.write(`\nresults: ${options.out}\n`)
  return runs.every((r) => r.ok) && (soak === undefined || soak.ok) ? 0 : 1
}

function report(
  r: {
    run: string
    machine: ReturnType<typeof machine> & { loadavg_at_end: number[] }
    workload: Workload['stats']
    targets: Record<string, { value: number | null; target: string; met: boolean | null }>
  },
  best: Record<Pipeline, ThroughputRun | null>,
  soak: SoakRun | undefined,
): string {
  const m = r.machine
  const w = r.workload
  const out: string[] = []
  out.push(
    '',
    `assetstream Kafka benchmark (${r.run})`,
    `machine   ${m.cpu}, ${m.cores} cores, ${fmt(m.total_memory_mb / 1024, 1)} GiB, node ${m.node}, load ${m.loadavg_at_start.join(' ')} → ${m.loadavg_at_end.join(' ')}`,
    `workload  ${fmt(w.messages)} messages, ${fmt(w.bytes / 2 ** 20, 1)} MB (${w.avg_bytes} B avg), 4 partitions, ` +
      `${fmt(w.flow_runs)} flow runs, ${Math.round(w.materializing_task_share * 100)}% materializing tasks, ` +
      `${w.events_per_message} events/message`,
    '',
    `${'pipeline'.padEnd(32)}${'msgs/s'.padStart(9)}${'records out/s'.padStart(15)}${'window s'.padStart(10)}` +
      `${'CPU cores'.padStart(11)}${'CPU µs/msg'.padStart(12)}${'broker cores'.padStart(14)}${'peak RSS MB'.padStart(13)}`,
  )
  for (const p of ['kcat', 'passthrough', 'alo', 'alo-ref', 'eos', 'eos-ref'] as const) {
    const b = best[p]
    if (b === null && p.endsWith('-ref')) continue
    out.push(
      `${LABEL[p].padEnd(32)}${fmt(b?.msgs_per_s).padStart(9)}${fmt(b?.records_out_per_s).padStart(15)}` +
        `${fmt(b?.window_s, 1).padStart(10)}${fmt(b?.cpu_cores, 2).padStart(11)}${fmt(b?.cpu_us_per_msg, 0).padStart(12)}` +
        `${fmt(b?.broker_cpu_cores, 2).padStart(14)}${fmt(b?.peak_rss_mb, 0).padStart(13)}`,
    )
  }
  if (soak !== undefined) {
    const l = soak.latency
    out.push(
      '',
      `paced run at ${fmt(soak.rate_target)} msgs/s (achieved ${fmt(soak.rate_achieved)}), at least once, ${fmt(soak.seconds, 0)} s`,
      `  latency ${soak.latency_window_s?.[0] ?? 0}–${soak.latency_window_s?.[1] ?? 0} s: p50 ${fmt(l?.p50_ms, 1)} ms, p99 ${fmt(l?.p99_ms, 1)} ms, max ${fmt(l?.max_ms, 1)} ms (${fmt(l?.samples)} events)`,
      `  latency whole run: p50 ${fmt(soak.latency_soak?.p50_ms, 1)} ms, p99 ${fmt(soak.latency_soak?.p99_ms, 1)} ms, max ${fmt(soak.latency_soak?.max_ms, 1)} ms`,
      `  processor's histogram (record timestamp → acknowledged): ${Object.entries(
        soak.processor_latency_share_within_ms ?? {},
      )
        .map(([ms, share]) => `≤${ms} ms ${round(share * 100, 1)}%`)
        .join(', ')}`,
      `  processor: ${fmt(soak.processor_batches_per_s)} batches/s; CPU: processor ${fmt(soak.processor_cpu_cores, 2)} cores, broker ${fmt(soak.broker_cpu_cores, 2)} cores; benchmark event loop delay p99 ${fmt(soak.bench_loop_delay_p99_ms, 1)} ms`,
      `  RSS ${fmt(soak.rss_start_mb, 1)} → ${fmt(soak.rss_end_mb, 1)} MB (max ${fmt(soak.rss_max_mb, 1)}), growth ${fmt(soak.rss_growth_mb_per_min, 2)} MB/min after ${fmt(soak.rss_warmup_s, 0)} s; lineage ${fmt(soak.lineage_mb_end, 1)} MB at the end (${fmt(soak.lineage_growth_mb_per_min, 2)} MB/min, TTL ${fmt(soak.lineage_ttl_ms / 1000)} s)`,
      `  upstream task runs with no lineage: ${fmt(((soak.processor_unknown_upstreams ?? 0) * 1000) / Math.max(1, soak.messages_sent ?? 0), 3)} per 1,000 messages (derive on the throughput workload, no expiry: ${fmt(r.workload.unknown_upstreams_per_1000_messages, 3)})`,
      `  events: ${fmt(soak.events_expected)} expected by derive, ${fmt(soak.events_distinct)} distinct read, ${fmt(soak.events_missing)} missing, ${fmt(soak.events_unexpected)} unexpected`,
      ...(soak.failovers === undefined
        ? []
        : [
            `  failovers (kill -9 of the busiest leader, restarted ${FAILOVER_DOWN_S} s later): ${soak.failovers.map((f) => `broker ${f.broker} at ${fmt(f.at_s, 0)} s`).join(', ')}`,
            `  latency outside the ${FAILOVER_WINDOW_S} s after each failover: p50 ${fmt(soak.latency_steady?.p50_ms, 1)} ms, p99 ${fmt(soak.latency_steady?.p99_ms, 1)} ms, max ${fmt(soak.latency_steady?.max_ms, 1)} ms`,
          ]),
    )
  }
  out.push('', 'targets')
  const names: Record<string, string> = {
    alo_vs_passthrough: 'at-least-once / kafkajs passthrough',
    eos_vs_alo: 'exactly-once / at-least-once',
    p99_ms: 'p99 latency at half load, ms',
    peak_rss_mb: 'peak RSS, MB',
    soak_rss_growth_mb_per_min: 'soak RSS growth, MB/min',
  }
  for (const [k, t] of Object.entries(r.targets))
    out.push(
      `  ${(names[k] ?? k).padEnd(40)}${fmt(t.value, 3).padStart(10)}  ${t.target.padEnd(8)} ${t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met'}`,
    )
  return `${out.join('\n')}\n`
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`failed: ${(e as Error).stack ?? String(e)}`)
    process.exit(1)
  },
)
