/**
 * A deterministic, realistic workload of task-run lifecycle messages (SPEC §1, JSON form), for the
 * benchmarks and the demo.
 *
 * Shape: a handful of flows (each a fixed DAG of 20–60 tasks, so asset keys recur across runs as
 * they do in production), run many times. Each flow run carries its full run context; its task
 * runs go PENDING → RUNNING → COMPLETED, or through a retry (RUNNING, SCHEDULED/AwaitingRetry,
 * RUNNING/Retrying, then a terminal state), or end FAILED/TimedOut, CRASHED, CANCELLED, or
 * COMPLETED/Cached; a task whose upstream did not complete stops at PENDING/NotReady. About 30% of
 * the tasks materialize 1–2 assets (with properties, some non-ASCII); some declare `asset_deps`;
 * lineage runs through plain tasks by `task_inputs` (plus `wait_for` and `__parents__` now and
 * then); terminal messages carry materialization metadata; some messages carry artifact
 * operations (create, and updates of progress artifacts).
 *
 * Ordering: the messages of one flow run are in order (a flow run keeps a few task runs in flight
 * at once); several flow runs interleave. `occurred` increases strictly over the whole stream, in
 * microseconds. The Kafka key of a message is its flow run id (the task run id for the few task
 * runs outside a flow run).
 *
 * Everything comes from a seeded PRNG (mulberry32): the same options give the same bytes. Every
 * message is valid, unless `invalidRatio` asks for some malformed ones; each of those says which
 * rejection code it should get.
 */
import type { InputErrorCode } from '../errors.js'

// ---------------------------------------------------------------------------------------------
// The JSON shape of a lifecycle message (SPEC §1), as a producer writes it.

export type AssetRefJson =
  | string
  | {
      key: string
      properties?: { name?: string; description?: string; url?: string; owners?: string[] } | null
    }

export interface TaskRunInputJson {
  input_type: string
  id?: string
  name?: string
  type?: string
}

export type JsonLike = null | boolean | number | string | JsonLike[] | { [key: string]: JsonLike }

export type ArtifactOpJson =
  | {
      op: 'create'
      id: string
      key?: string | null
      type?: string | null
      description?: string | null
      data?: JsonLike
      occurred?: string
    }
  | { op: 'update'; id: string; changes: { [key: string]: JsonLike }; occurred?: string }

export interface LifecycleJson {
  id: string
  occurred: string
  flow_run?: {
    id: string
    name?: string
    flow_id?: string
    flow_name?: string
    deployment?: { id: string; name?: string }
    work_queue?: { id: string; name?: string }
    work_pool?: { id: string; name?: string; type?: string }
    tags?: string[]
  } | null
  task_run: {
    id: string
    name?: string
    task_key?: string
    run_count?: number
    tags?: string[]
    task_inputs?: { [parameter: string]: TaskRunInputJson[] }
  }
  state: { type: string; name?: string; message?: string }
  assets?: {
    materializes?: AssetRefJson[]
    materialized_by?: string
    asset_deps?: AssetRefJson[]
    upstream?: AssetRefJson[]
    metadata?: { [assetKey: string]: { [key: string]: JsonLike } }
  }
  artifacts?: ArtifactOpJson[]
}

/** A message as it goes to Kafka: key (the flow run id) and value. */
export interface KeyedMessage {
  readonly key: string
  readonly value: LifecycleJson
  /** Set on the messages made malformed on purpose: the code the processor must reject it with. */
  readonly invalid?: InputErrorCode
}

export interface WorkloadOptions {
  /** Number of messages to generate. */
  readonly messages: number
  /** PRNG seed (default 1). */
  readonly seed?: number
  /** Distinct flows (DAG templates) the flow runs are drawn from (default 12). */
  readonly flows?: number
  /** Task runs per flow run, inclusive range (default [20, 60]). */
  readonly tasksPerFlowRun?: readonly [number, number]
  /** Share of materializing tasks (default 0.3). */
  readonly materializingRatio?: number
  /** Flow runs in progress at once, their messages interleaved (default 8). */
  readonly concurrentFlowRuns?: number
  /** Share of flow-run-less task runs, each a message sequence of its own (default 0.005). */
  readonly standaloneRatio?: number
  /** Share of messages made malformed, each rejected by the processor (default 0). */
  readonly invalidRatio?: number
  /** `occurred` of the first message, as Unix microseconds (default 2026-11-27T00:00:00Z). */
  readonly startMicros?: number
  /** Mean gap between two consecutive messages of the stream, in microseconds (default 20 000). */
  readonly meanGapMicros?: number
}

// ---------------------------------------------------------------------------------------------
// PRNG

/** mulberry32: a small, fast 32-bit PRNG; returns uint32 values. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
)

/** Random helpers over mulberry32. */
export class Rng {
  readonly #next: () => number
  constructor(seed: number) {
    this.#next = mulberry32(seed)
  }
  /** uint32 */
  u32(): number {
    return this.#next()
  }
  /** [0, 1) */
  float(): number {
    return this.#next() / 4_294_967_296
  }
  /** Integer in [lo, hi], inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1))
  }
  chance(p: number): boolean {
    return this.float() < p
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[Math.floor(this.float() * items.length)] as T
  }
  /** Up to `n` distinct items, in a random order. */
  sample<T>(items: readonly T[], n: number): T[] {
    const copy = [...items]
    const out: T[] = []
    while (out.length < n && copy.length > 0)
      out.push(copy.splice(Math.floor(this.float() * copy.length), 1)[0] as T)
    return out
  }
  /** A UUIDv4-shaped lowercase hex id. */
  uuid(): string {
    const b: number[] = []
    for (let i = 0; i < 4; i++) {
      const x = this.#next()
      b.push(x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff)
    }
    b[6] = ((b[6] as number) & 0x0f) | 0x40
    b[8] = ((b[8] as number) & 0x3f) | 0x80
    let s = ''
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) s += '-'
      s += HEX[b[i] as number]
    }
    return s
  }
  /** Exponentially distributed, mean `mean`, at least 1. */
  expo(mean: number): number {
    return Math.max(1, Math.round(-Math.log(1 - this.float()) * mean))
  }
}

// ---------------------------------------------------------------------------------------------
// Time

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ` of Unix microseconds. */
export function formatOccurred(micros: number): string {
  const ms = Math.floor(micros / 1000)
  const iso = new Date(ms).toISOString() // YYYY-MM-DDTHH:MM:SS.mmmZ
  const frac = String(micros - Math.floor(micros / 1_000_000) * 1_000_000).padStart(6, '0')
  return `${iso.slice(0, 19)}.${frac}Z`
}

const DEFAULT_START_MICROS = Date.UTC(2026, 10, 27) * 1000

/** The stream's clock: strictly increasing microseconds. */
class Clock {
  #now: number
  constructor(
    start: number,
    private readonly rng: Rng,
    private readonly meanGap: number,
  ) {
    this.#now = start
  }
  tick(): number {
    this.#now += this.rng.expo(this.meanGap)
    return this.#now
  }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

const ADJECTIVES = [
  'amber',
  'crimson',
  'silent',
  'brave',
  'lucky',
  'misty',
  'golden',
  'rapid',
  'quiet',
  'wise',
  'bold',
  'cosmic',
  'daring',
  'gentle',
  'jade',
]
const ANIMALS = [
  'owl',
  'fox',
  'otter',
  'heron',
  'lynx',
  'badger',
  'falcon',
  'marten',
  'ibis',
  'koala',
  'tapir',
  'wren',
  'yak',
  'zebu',
  'newt',
]
const FLOW_NAMES = [
  'nightly-etl',
  'customer-pipeline',
  'orders-sync',
  'ml-features',
  'billing-rollup',
  'marketing-attribution',
  'inventory-snapshot',
  'clickstream-sessionize',
  'finance-close',
  'ads-spend',
  'support-tickets',
  'geo-enrich',
  'fraud-scoring',
  'search-index',
  'hr-sync',
  'pricing-model',
]
const VERBS = [
  'extract',
  'load',
  'clean',
  'transform',
  'join',
  'aggregate',
  'validate',
  'enrich',
  'dedupe',
  'score',
  'publish',
  'snapshot',
  'export',
  'normalize',
  'train',
  'sample',
]
const NOUNS = [
  'orders',
  'customers',
  'events',
  'sessions',
  'invoices',
  'products',
  'payments',
  'clicks',
  'tickets',
  'accounts',
  'features',
  'prices',
  'inventory',
  'shipments',
  'refunds',
  'users',
]
const PARAMS = [
  'df',
  'data',
  'records',
  'table',
  'rows',
  'frame',
  'batch',
  'source',
  'left',
  'right',
  'x0',
  'x1',
  'upstream',
  'items',
]
const SCHEMES = ['s3', 'gs', 'postgres', 'bq', 'snowflake', 'file', 'az', 'mysql']
const TOOLS = ['dbt', 'spark', 'airbyte', 'fivetran', 'duckdb']
const OWNERS = [
  'data-team',
  'analytics-team',
  'José',
  'Zoë Ødegaard',
  'platform',
  'ml-eng',
  '🚀ops',
  '数据团队',
  'finance',
  'Ana-María',
  'growth',
]
const DESCRIPTIONS = [
  'Raw events as delivered by the source system',
  'Événements bruts, partitionnés par jour',
  'Cleaned and de-duplicated records',
  'Daily aggregate used by the finance dashboards',
  'Kundenstammdaten — bereinigt',
  'Feature table for the scoring model; refreshed nightly',
  'Tabla de pedidos consolidada',
  '集計済みの売上データ',
]
const POOL_TYPES = ['kubernetes', 'process', 'docker', 'ecs', 'cloud-run']
const FLOW_TAGS = [
  'prod',
  'staging',
  'etl',
  'nightly',
  'critical',
  'finance',
  'ml',
  'pii',
  'team-data',
  'v2',
]
const ERRORS = [
  'Task run encountered an exception ValueError: could not convert string to float',
  "Task run encountered an exception KeyError: 'customer_id'",
  'Task run encountered an exception ConnectionError: connection reset by peer',
  'Task run exceeded timeout of 600.0 second(s)',
]

// ---------------------------------------------------------------------------------------------
// Flow templates

interface AssetSpec {
  readonly key: string
  /** undefined: written as a bare key string; null: `properties: null`. */
  readonly properties:
    { name?: string; description?: string; url?: string; owners?: string[] } | null | undefined
}

type ArtifactKind = 'markdown' | 'table' | 'link' | 'progress'

interface TaskTemplate {
  readonly name: string
  readonly taskKey: string
  readonly materializes: readonly AssetSpec[]
  readonly materializedBy: string | undefined
  readonly assetDeps: readonly AssetSpec[]
  /** Upstream task indexes per parameter name, each an earlier task. */
  readonly inputs: readonly { readonly parameter: string; readonly upstream: readonly number[] }[]
  readonly waitFor: readonly number[]
  readonly parent: number | undefined
  /** Extra non-task inputs (parameters, constants), ignored by lineage. */
  readonly plainParams: readonly string[]
  readonly tags: readonly string[]
  readonly artifact: ArtifactKind | undefined
  /** A plain task without deps still sends `assets: {materializes: [], asset_deps: []}`. */
  readonly sendsEmptyAssets: boolean
}

interface FlowTemplate {
  readonly flowId: string
  readonly flowName: string
  readonly deployment: { id: string; name: string } | undefined
  readonly workQueue: { id: string; name: string } | undefined
  readonly workPool: { id: string; name: string; type: string } | undefined
  readonly tags: readonly string[]
  readonly tasks: readonly TaskTemplate[]
}

function assetKey(rng: Rng, flowName: string, n: number): string {
  const scheme = rng.pick(SCHEMES)
  const noun = rng.pick(NOUNS)
  switch (scheme) {
    case 's3':
    case 'gs':
    case 'az':
      return `${scheme}://lake-${flowName}/${rng.pick(['raw', 'clean', 'curated', 'données'])}/${noun}_${n}.parquet`
    case 'file':
      return `file:///data/${flowName}/${noun}-${n}.csv`
    case 'bq':
      return `bq://acme-prod/${flowName.replace(/-/g, '_')}/${noun}_${n}`
    default:
      return `${scheme}://warehouse/${flowName.replace(/-/g, '_')}.${noun}_${n}`
  }
}

function assetSpec(rng: Rng, key: string): AssetSpec {
  const r = rng.float()
  if (r < 0.45) return { key, properties: undefined }
  if (r < 0.5) return { key, properties: null }
  const properties: { name?: string; description?: string; url?: string; owners?: string[] } = {}
  if (rng.chance(0.9)) properties.name = key.slice(key.lastIndexOf('/') + 1).replace(/[._]/g, ' ')
  if (rng.chance(0.7)) properties.description = rng.pick(DESCRIPTIONS)
  if (rng.chance(0.5))
    properties.url = `https://dashboard.acme.example/assets/${encodeURIComponent(key)}`
  if (rng.chance(0.6)) properties.owners = rng.sample(OWNERS, rng.int(0, 3))
  return { key, properties }
}

function flowTemplate(
  rng: Rng,
  i: number,
  opts: Required<Pick<WorkloadOptions, 'tasksPerFlowRun' | 'materializingRatio'>>,
): FlowTemplate {
  const flowName =
    FLOW_NAMES[i % FLOW_NAMES.length] +
    (i >= FLOW_NAMES.length ? `-${Math.floor(i / FLOW_NAMES.length)}` : '')
  const [lo, hi] = opts.tasksPerFlowRun
  const n = rng.int(lo, hi)
  // External sources the flow reads (asset_deps), a few per flow.
  const sources = Array.from({ length: rng.int(4, 12) }, (_, k) =>
    assetSpec(rng, assetKey(rng, `${flowName}-src`, k)),
  )
  let assetCounter = 0
  const tasks: TaskTemplate[] = []
  for (let t = 0; t < n; t++) {
    const name = `${rng.pick(VERBS)}_${rng.pick(NOUNS)}`
    const materializing = rng.chance(t === 0 ? 0.7 : opts.materializingRatio)
    const materializes = materializing
      ? Array.from({ length: rng.chance(0.75) ? 1 : 2 }, () =>
          assetSpec(rng, assetKey(rng, flowName, assetCounter++)),
        )
      : []
    const assetDeps = rng.chance(materializing ? 0.35 : 0.15)
      ? rng.sample(sources, rng.int(1, 3))
      : []
    // Data inputs from earlier tasks, mostly recent ones (pipelines are chains with fan-in).
    const inputs: { parameter: string; upstream: number[] }[] = []
    if (t > 0) {
      const fanIn = rng.chance(0.15) ? 0 : rng.chance(0.75) ? 1 : 2
      const params = rng.sample(PARAMS, fanIn)
      for (const parameter of params) {
        const k = rng.chance(0.1) ? 2 : 1
        const ups = new Set<number>()
        for (let j = 0; j < k; j++) ups.add(Math.max(0, t - rng.int(1, Math.min(t, 6))))
        inputs.push({ parameter, upstream: [...ups] })
      }
    }
    const waitFor = t > 1 && rng.chance(0.12) ? [rng.int(0, t - 1)] : []
    const parent = t > 2 && rng.chance(0.05) ? rng.int(0, t - 1) : undefined
    tasks.push({
      name,
      taskKey: `${name}-${rng.u32().toString(16).padStart(8, '0').slice(0, 4)}`,
      materializes,
      materializedBy: materializing && rng.chance(0.25) ? rng.pick(TOOLS) : undefined,
      assetDeps,
      inputs,
      waitFor,
      parent,
      plainParams: rng.chance(0.3)
        ? rng.sample(['limit', 'date', 'region', 'dry_run'], rng.int(1, 2))
        : [],
      tags: rng.chance(0.2) ? rng.sample(FLOW_TAGS, 1) : [],
      artifact: rng.chance(0.12)
        ? rng.pick<ArtifactKind>(['markdown', 'table', 'link', 'progress'])
        : undefined,
      sendsEmptyAssets: rng.chance(0.5),
    })
  }
  const poolType = rng.pick(POOL_TYPES)
  return {
    flowId: rng.uuid(),
    flowName,
    deployment: rng.chance(0.85)
      ? { id: rng.uuid(), name: rng.pick(['nightly', 'hourly', 'backfill', 'on-demand', 'daily']) }
      : undefined,
    workQueue: rng.chance(0.8)
      ? { id: rng.uuid(), name: rng.pick(['default', 'high-priority', 'batch']) }
      : undefined,
    workPool: rng.chance(0.8)
      ? { id: rng.uuid(), name: `${poolType}-pool`, type: poolType }
      : undefined,
    tags: rng.sample(FLOW_TAGS, rng.int(0, 3)),
    tasks,
  }
}

// ---------------------------------------------------------------------------------------------
// Flow runs

function refJson(a: AssetSpec): AssetRefJson {
  if (a.properties === undefined) return a.key
  return { key: a.key, properties: a.properties === null ? null : { ...a.properties } }
}

type Outcome =
  | 'completed'
  | 'cached'
  | 'retry-completed'
  | 'retry-failed'
  | 'failed'
  | 'timed-out'
  | 'crashed'
  | 'cancelled'

/**
 * Most flow runs go well (only retries and cache hits); one in five has a bad day, where a task
 * fails now and then. A task run whose upstream did not complete stops at PENDING/NotReady.
 */
function pickOutcome(rng: Rng, badDay: boolean): Outcome {
  const r = rng.float()
  if (r < 0.86) return 'completed'
  if (r < 0.92) return 'cached'
  if (r < 0.95 || !badDay) return 'retry-completed'
  if (r < 0.96) return 'retry-failed'
  if (r < 0.98) return 'failed'
  if (r < 0.99) return 'timed-out'
  if (r < 0.995) return 'crashed'
  return 'cancelled'
}

interface State {
  readonly type: string
  readonly name: string
  readonly runCount: number
  readonly message?: string
  /** A terminal (or retried) attempt: carries materialization metadata. */
  readonly attemptEnd?: number
}

function stateSequence(rng: Rng, outcome: Outcome): State[] {
  const pending: State = { type: 'PENDING', name: 'Pending', runCount: 0 }
  const running: State = { type: 'RUNNING', name: 'Running', runCount: 1 }
  switch (outcome) {
    case 'completed':
      return [
        pending,
        running,
        { type: 'COMPLETED', name: 'Completed', runCount: 1, attemptEnd: 1 },
      ]
    case 'cached':
      return [pending, { type: 'COMPLETED', name: 'Cached', runCount: 0 }]
    case 'retry-completed':
    case 'retry-failed': {
      const err = rng.pick(ERRORS)
      const end: State =
        outcome === 'retry-completed'
          ? { type: 'COMPLETED', name: 'Completed', runCount: 2, attemptEnd: 2 }
          : { type: 'FAILED', name: 'Failed', runCount: 2, message: err, attemptEnd: 2 }
      return [
        pending,
        running,
        { type: 'RUNNING', name: 'Retrying', runCount: 1, message: err, attemptEnd: 1 },
        { type: 'SCHEDULED', name: 'AwaitingRetry', runCount: 1 },
        { type: 'RUNNING', name: 'Running', runCount: 2 },
        end,
      ]
    }
    case 'failed':
      return [
        pending,
        running,
        { type: 'FAILED', name: 'Failed', runCount: 1, message: rng.pick(ERRORS), attemptEnd: 1 },
      ]
    case 'timed-out':
      return [
        pending,
        running,
        {
          type: 'FAILED',
          name: 'TimedOut',
          runCount: 1,
          message: ERRORS[3] as string,
          attemptEnd: 1,
        },
      ]
    case 'crashed':
      return [
        pending,
        running,
        {
          type: 'CRASHED',
          name: 'Crashed',
          runCount: 1,
          message: 'Execution was interrupted by the worker',
        },
      ]
    case 'cancelled':
      return [
        pending,
        running,
        { type: 'CANCELLING', name: 'Cancelling', runCount: 1 },
        { type: 'CANCELLED', name: 'Cancelled', runCount: 1 },
      ]
  }
}

function metadata(rng: Rng, attempt: number): { [key: string]: JsonLike } {
  const md: { [key: string]: JsonLike } = { rows: rng.int(0, 5_000_000), attempt }
  if (rng.chance(0.5)) md.bytes = rng.int(1_000, 2_000_000_000)
  if (rng.chance(0.4)) md.partition = `2026-11-${String(rng.int(1, 28)).padStart(2, '0')}`
  if (rng.chance(0.3))
    md.columns = rng.sample(
      ['id', 'customer_id', 'amount', 'currency', 'ts', 'région', 'status'],
      rng.int(2, 5),
    )
  if (rng.chance(0.25))
    md.quality = {
      null_ratio: Math.round(rng.float() * 1000) / 100_000,
      checks_passed: rng.chance(0.9),
      score: null,
    }
  return md
}

interface TaskRunState {
  readonly template: TaskTemplate
  readonly id: string
  readonly name: string
  readonly states: State[]
  next: number
  /** Progress artifact id, once created. */
  progressArtifact?: string
  done: boolean
  /** Ended without completing (failed, crashed, cancelled, not ready): downstream is NotReady. */
  broken: boolean
}

interface StreamContext {
  readonly rng: Rng
  readonly clock: Clock
}

function artifactOps(
  ctx: StreamContext,
  tr: TaskRunState,
  st: State,
  occurred: number,
): ArtifactOpJson[] | undefined {
  const { rng } = ctx
  const kind = tr.template.artifact
  if (kind === undefined) return undefined
  const at = (): { occurred?: string } =>
    rng.chance(0.5) ? { occurred: formatOccurred(occurred - rng.int(1, 900)) } : {}
  if (kind === 'progress') {
    if (st.type === 'RUNNING' && tr.progressArtifact === undefined) {
      tr.progressArtifact = rng.uuid()
      return [
        {
          op: 'create',
          id: tr.progressArtifact,
          key: null,
          type: 'progress',
          description: `Progress of ${tr.name}`,
          data: 0.0,
          ...at(),
        },
      ]
    }
    if (tr.progressArtifact !== undefined && (st.type === 'COMPLETED' || st.type === 'RUNNING')) {
      const ops: ArtifactOpJson[] = [
        { op: 'update', id: tr.progressArtifact, changes: { data: 50.0 }, ...at() },
      ]
      if (st.type === 'COMPLETED')
        ops.push({ op: 'update', id: tr.progressArtifact, changes: { data: 100.0 }, ...at() })
      return ops
    }
    return undefined
  }
  if (st.type !== 'COMPLETED' || st.name === 'Cached') return undefined
  const id = rng.uuid()
  const key = rng.chance(0.8) ? `${tr.template.name.replace(/_/g, '-')}-report` : undefined
  const base = { op: 'create' as const, id, ...(key === undefined ? {} : { key }), type: kind }
  switch (kind) {
    case 'markdown':
      return [
        {
          ...base,
          description: 'Run summary',
          data: `# ${tr.name}\n\n| metric | value |\n|---|---|\n| rows | ${rng.int(0, 99_999)} |\n\nRésumé généré ✔`,
          ...at(),
        },
      ]
    case 'table':
      return [
        {
          ...base,
          description: rng.chance(0.5) ? 'Row counts per partition' : null,
          data: Array.from({ length: rng.int(2, 6) }, (_, k) => ({
            partition: k,
            rows: rng.int(0, 10_000),
            ok: rng.chance(0.9),
          })),
        },
        ...(rng.chance(0.3)
          ? [
              {
                op: 'update' as const,
                id,
                changes: { description: 'Row counts (final)', metadata_: { source: tr.name } },
              },
            ]
          : []),
      ]
    case 'link':
      return [{ ...base, data: `https://dashboard.acme.example/runs/${tr.id}`, ...at() }]
  }
}

function buildMessage(
  ctx: StreamContext,
  flowRun: LifecycleJson['flow_run'],
  tr: TaskRunState,
  taskRunIds: readonly string[],
  st: State,
): LifecycleJson {
  const { rng } = ctx
  const occurredMicros = ctx.clock.tick()
  const t = tr.template
  const taskInputs: { [parameter: string]: TaskRunInputJson[] } = {}
  for (const { parameter, upstream } of t.inputs) {
    taskInputs[parameter] = upstream.map((u) => ({
      input_type: 'task_run',
      id: taskRunIds[u] as string,
    }))
  }
  for (const p of t.plainParams) taskInputs[p] = [{ input_type: 'parameter', name: p }]
  if (t.waitFor.length > 0)
    taskInputs.wait_for = t.waitFor.map((u) => ({
      input_type: 'task_run',
      id: taskRunIds[u] as string,
    }))
  if (t.parent !== undefined)
    taskInputs.__parents__ = [{ input_type: 'task_run', id: taskRunIds[t.parent] as string }]
  const msg: LifecycleJson = {
    id: rng.uuid(),
    occurred: formatOccurred(occurredMicros),
    ...(flowRun === undefined ? {} : { flow_run: flowRun }),
    task_run: {
      id: tr.id,
      name: tr.name,
      task_key: t.taskKey,
      run_count: st.runCount,
      tags: [...t.tags],
      task_inputs: taskInputs,
    },
    state: {
      type: st.type,
      name: st.name,
      ...(st.message === undefined ? {} : { message: st.message }),
    },
  }
  if (t.materializes.length > 0 || t.assetDeps.length > 0 || t.sendsEmptyAssets) {
    const assets: NonNullable<LifecycleJson['assets']> = {
      materializes: t.materializes.map(refJson),
      asset_deps: t.assetDeps.map(refJson),
    }
    if (t.materializedBy !== undefined) assets.materialized_by = t.materializedBy
    if (st.attemptEnd !== undefined && t.materializes.length > 0 && rng.chance(0.8)) {
      assets.metadata = {}
      for (const a of t.materializes)
        if (rng.chance(0.85)) assets.metadata[a.key] = metadata(rng, st.attemptEnd)
    }
    msg.assets = assets
  }
  const arts = artifactOps(ctx, tr, st, occurredMicros)
  if (arts !== undefined && arts.length > 0) msg.artifacts = arts
  return msg
}

/** The messages of one flow run, in order, a few task runs in flight at once. */
function* flowRunMessages(ctx: StreamContext, template: FlowTemplate): Generator<KeyedMessage> {
  const { rng } = ctx
  const flowRunId = rng.uuid()
  const tags = rng.chance(0.1) ? [...template.tags, 'adhoc'] : [...template.tags]
  const flowRun: NonNullable<LifecycleJson['flow_run']> = {
    id: flowRunId,
    name: `${rng.pick(ADJECTIVES)}-${rng.pick(ANIMALS)}`,
    flow_id: template.flowId,
    flow_name: template.flowName,
    ...(template.deployment === undefined ? {} : { deployment: template.deployment }),
    ...(template.workQueue === undefined ? {} : { work_queue: template.workQueue }),
    ...(template.workPool === undefined ? {} : { work_pool: template.workPool }),
    tags,
  }
  const badDay = rng.chance(0.2)
  const counts = new Map<string, number>()
  const runs: TaskRunState[] = template.tasks.map((t) => {
    const k = counts.get(t.name) ?? 0
    counts.set(t.name, k + 1)
    return {
      template: t,
      id: rng.uuid(),
      name: `${t.name}-${k}`,
      states: stateSequence(rng, pickOutcome(rng, badDay)),
      next: 0,
      done: false,
      broken: false,
    }
  })
  const ids = runs.map((r) => r.id)
  const concurrency = rng.int(1, 4)
  const inFlight: TaskRunState[] = []
  let nextStart = 0
  while (nextStart < runs.length || inFlight.length > 0) {
    // Start task runs in order while their upstreams are done and there is room.
    while (inFlight.length < concurrency && nextStart < runs.length) {
      const tr = runs[nextStart] as TaskRunState
      const deps = [
        ...tr.template.inputs.flatMap((i) => i.upstream),
        ...tr.template.waitFor,
        ...(tr.template.parent === undefined ? [] : [tr.template.parent]),
      ]
      if (!deps.every((d) => (runs[d] as TaskRunState).done)) break
      if (deps.some((d) => (runs[d] as TaskRunState).broken)) {
        tr.states.splice(
          0,
          tr.states.length,
          { type: 'PENDING', name: 'Pending', runCount: 0 },
          {
            type: 'PENDING',
            name: 'NotReady',
            runCount: 0,
            message: 'Upstream task run did not reach a COMPLETED state',
          },
        )
      }
      inFlight.push(tr)
      nextStart++
    }
    const i = rng.int(0, inFlight.length - 1)
    const tr = inFlight[i] as TaskRunState
    const st = tr.states[tr.next++] as State
    yield { key: flowRunId, value: buildMessage(ctx, flowRun, tr, ids, st) }
    if (tr.next === tr.states.length) {
      tr.done = true
      tr.broken = st.type !== 'COMPLETED'
      inFlight.splice(i, 1)
    }
  }
}

/** A task run outside any flow run: no run context beyond the task run, keyed by its own id. */
function* standaloneMessages(ctx: StreamContext, template: FlowTemplate): Generator<KeyedMessage> {
  const { rng } = ctx
  const t = rng.pick(template.tasks)
  const tr: TaskRunState = {
    template: { ...t, inputs: [], waitFor: [], parent: undefined },
    id: rng.uuid(),
    name: `${t.name}-0`,
    states: stateSequence(rng, pickOutcome(rng, true)),
    next: 0,
    done: false,
    broken: false,
  }
  for (const st of tr.states) {
    const value = buildMessage(ctx, undefined, tr, [], st)
    if (rng.chance(0.5) && value.assets !== undefined)
      value.assets.upstream = template.tasks
        .flatMap((x) => x.materializes)
        .slice(0, 2)
        .map(refJson)
    yield { key: tr.id, value }
  }
}

// ---------------------------------------------------------------------------------------------
// Invalid messages

const BREAKERS: readonly ((m: LifecycleJson, rng: Rng) => InputErrorCode)[] = [
  (m) => {
    delete (m.task_run as { id?: string }).id
    return 'invalid_message'
  },
  (m) => {
    m.state.type = 'RUNNING_LATE'
    return 'invalid_message'
  },
  (m) => {
    m.occurred = m.occurred.replace('T', ' ')
    return 'invalid_message'
  },
  (m, rng) => {
    m.assets = {
      ...(m.assets ?? {}),
      asset_deps: [
        ...(m.assets?.asset_deps ?? []),
        rng.pick([
          's3://bucket/with space.csv',
          'S3://upper/case',
          'no-scheme/table',
          's3://q?x=1',
        ]),
      ],
    }
    return 'invalid_asset_key'
  },
  (m) => {
    m.assets = {
      ...(m.assets ?? {}),
      materializes: [
        { key: 's3://lake/long-description', properties: { description: 'x'.repeat(2501) } },
      ],
    }
    return 'invalid_asset_description'
  },
  (m, rng) => {
    m.artifacts = [{ op: 'create', id: rng.uuid(), key: 'Daily Report', type: 'markdown' }]
    return 'invalid_artifact_key'
  },
]

function breakMessage(
  m: LifecycleJson,
  rng: Rng,
): { value: LifecycleJson; invalid: InputErrorCode } {
  const value = structuredClone(m)
  const invalid = rng.pick(BREAKERS)(value, rng)
  return { value, invalid }
}

// ---------------------------------------------------------------------------------------------
// The stream

/**
 * The workload as a lazy stream of keyed messages: `opts.messages` of them, flow runs interleaved.
 * The same options always give the same messages.
 */
export function* generateWorkload(opts: WorkloadOptions): Generator<KeyedMessage> {
  const seed = opts.seed ?? 1
  const rng = new Rng(seed)
  const tasksPerFlowRun = opts.tasksPerFlowRun ?? [20, 60]
  const materializingRatio = opts.materializingRatio ?? 0.3
  const templates = Array.from({ length: opts.flows ?? 12 }, (_, i) =>
    flowTemplate(rng, i, { tasksPerFlowRun, materializingRatio }),
  )
  const ctx: StreamContext = {
    rng,
    clock: new Clock(opts.startMicros ?? DEFAULT_START_MICROS, rng, opts.meanGapMicros ?? 20_000),
  }
  const standaloneRatio = opts.standaloneRatio ?? 0.005
  const invalidRatio = opts.invalidRatio ?? 0
  const newRun = (): Generator<KeyedMessage> =>
    rng.chance(standaloneRatio)
      ? standaloneMessages(ctx, rng.pick(templates))
      : flowRunMessages(ctx, rng.pick(templates))
  const active = Array.from({ length: Math.max(1, opts.concurrentFlowRuns ?? 8) }, newRun)
  for (let n = 0; n < opts.messages;) {
    const i = rng.int(0, active.length - 1)
    const r = (active[i] as Generator<KeyedMessage>).next()
    if (r.done === true) {
      active[i] = newRun()
      continue
    }
    n++
    if (invalidRatio > 0 && rng.chance(invalidRatio)) {
      yield { key: r.value.key, ...breakMessage(r.value.value, rng) }
    } else {
      yield r.value
    }
  }
}

/** The workload as an array. */
export const generateMessages = (opts: WorkloadOptions): KeyedMessage[] => [
  ...generateWorkload(opts),
]

/** One message as a compact JSON line (no newline): what a JSON producer puts in the Kafka value. */
export const toJsonLine = (m: KeyedMessage | LifecycleJson): string =>
  JSON.stringify('value' in m ? m.value : m)

/** Messages as JSON lines, each ending in a newline: the input of `assetstream derive`. */
export function toJsonLines(messages: Iterable<KeyedMessage | LifecycleJson>): string {
  let out = ''
  for (const m of messages) out += toJsonLine(m) + '\n'
  return out
}
