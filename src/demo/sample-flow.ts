/**
 * The story the demo tells: one run of a nightly ETL flow, as the lifecycle messages (SPEC §1) a
 * Prefect producer would send for it, in order, keyed by the flow run id.
 *
 *   extract_orders ──▶ clean_orders ──▶ load_orders ──▶ export_to_partner
 *   (materializes        (plain task:     (materializes     (materializes a file,
 *    the raw orders)      passes lineage   the warehouse     FAILS)
 *                         through)         table, retried
 *                                          once, by dbt)
 *                                              └──────────▶ publish_report (artifacts)
 *   fetch_fx_rates (COMPLETED/Cached: no asset events)
 *   debug_dump (an asset key with a space: dead-lettered)
 *
 * Everything is fixed — ids, times — so every demo run derives the same event ids (SPEC §2.5),
 * on topics of its own.
 */
import { createHash } from 'node:crypto'
import type { ArtifactOpJson, LifecycleJson } from '../bench/workload.js'

/** One message of the story. */
export interface SampleMessage {
  /** Kafka key: the flow run id, so the whole flow run lands on one partition, in order. */
  readonly key: string
  readonly value: LifecycleJson
  /** What the demo prints beside it when producing. */
  readonly note?: string
  /** Produce it as Avro in the Confluent wire format (the others are JSON). */
  readonly avro?: true
}

/** A stable UUID-shaped id per name (UUIDv5-like, SHA-1 of the name), so runs are repeatable. */
export function stableId(name: string): string {
  const h = createHash('sha1').update(`assetstream-demo/${name}`).digest()
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80
  const x = h.subarray(0, 16).toString('hex')
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`
}

/** The night of the run: `at('02:00:01.204518')` is that time, UTC, microseconds kept. */
const at = (time: string): string => `2026-11-27T${time}Z`

// ---------------------------------------------------------------------------------------------
// The flow run, with its full run context (it becomes related resources of every event).

export const FLOW_RUN = {
  id: stableId('flow-run/amber-heron'),
  name: 'amber-heron',
  flow_id: stableId('flow/nightly-etl'),
  flow_name: 'nightly-etl',
  deployment: { id: stableId('deployment/nightly'), name: 'nightly' },
  work_queue: { id: stableId('work-queue/default'), name: 'default' },
  work_pool: { id: stableId('work-pool/k8s-prod'), name: 'k8s-prod', type: 'kubernetes' },
  tags: ['prod', 'etl'],
} as const satisfies LifecycleJson['flow_run']

// ---------------------------------------------------------------------------------------------
// The assets.

const RAW_ORDERS = {
  key: 's3://lake/raw/orders',
  properties: {
    name: 'Raw orders',
    description: 'Orders exported nightly from the shop database, one Parquet file per day',
    owners: ['data-ingestion', 'José Álvarez'],
  },
}
const SHOP_ORDERS = 'postgres://shop-db/public/orders'
const WAREHOUSE_ORDERS = {
  key: 'postgres://warehouse/analytics/orders',
  properties: {
    name: 'Orders',
    description: 'Cleaned orders, one row per order line',
    url: 'https://bi.example.com/tables/analytics.orders',
    owners: ['analytics'],
  },
}
const DIM_CUSTOMERS = 'postgres://warehouse/analytics/dim_customers'
const FX_RATES = 's3://lake/reference/fx_rates'
const PARTNER_EXPORT = 'sftp://partner.example.com/outbox/orders.csv'

// ---------------------------------------------------------------------------------------------
// The task runs: what stays the same across their messages.

type TaskRun = LifecycleJson['task_run']
type Assets = NonNullable<LifecycleJson['assets']>

interface Task {
  readonly run: TaskRun
  /** The task's asset declarations, sent with each of its messages. */
  readonly assets?: Assets
}

function task(name: string, more: Omit<TaskRun, 'id' | 'name' | 'task_key'> = {}): TaskRun {
  return { id: stableId(`task-run/${name}`), name: `${name}-0`, task_key: `${name}-3f9a`, ...more }
}
const from = (...upstream: Task[]): { input_type: string; id: string }[] =>
  upstream.map((t) => ({ input_type: 'task_run', id: t.run.id }))

const extract: Task = {
  run: task('extract_orders'),
  assets: { materializes: [RAW_ORDERS], asset_deps: [SHOP_ORDERS] },
}
const clean: Task = {
  // No assets: lineage flows through it, from its `raw` input to whatever reads its result.
  run: task('clean_orders', { task_inputs: { raw: from(extract) } }),
}
const load: Task = {
  run: task('load_orders', { tags: ['warehouse'], task_inputs: { df: from(clean) } }),
  assets: { materializes: [WAREHOUSE_ORDERS], asset_deps: [DIM_CUSTOMERS], materialized_by: 'dbt' },
}
const report: Task = {
  run: task('publish_report', { task_inputs: { wait_for: from(load) } }),
}
const fxRates: Task = {
  run: task('fetch_fx_rates'),
  assets: { materializes: [FX_RATES] },
}
const exportToPartner: Task = {
  run: task('export_to_partner', { task_inputs: { orders: from(load) } }),
  assets: { materializes: [PARTNER_EXPORT] },
}
const debugDump: Task = {
  run: task('debug_dump', { task_inputs: { df: from(clean) } }),
  assets: { materializes: ['s3://lake/tmp/orders dump.csv'] }, // a space: not a valid asset key
}

// ---------------------------------------------------------------------------------------------
// The messages.

let sequence = 0

interface Transition {
  readonly runCount?: number
  readonly message?: string
  /** Materialization metadata of this attempt, per asset key. */
  readonly metadata?: Assets['metadata']
  readonly artifacts?: ArtifactOpJson[]
  readonly note?: string
  readonly avro?: true
}

/** The message of `t` entering state `type`/`name` at `time`. */
function enter(
  time: string,
  t: Task,
  [type, name]: readonly [string, string],
  more: Transition = {},
): SampleMessage {
  sequence += 1
  const value: LifecycleJson = {
    id: stableId(`message/${sequence}`),
    occurred: at(time),
    flow_run: { ...FLOW_RUN, tags: [...FLOW_RUN.tags] },
    task_run: { ...t.run, run_count: more.runCount ?? (type === 'PENDING' ? 0 : 1) },
    state: { type, name, ...(more.message === undefined ? {} : { message: more.message }) },
  }
  if (t.assets !== undefined) {
    value.assets = {
      ...t.assets,
      ...(more.metadata === undefined ? {} : { metadata: more.metadata }),
    }
  }
  if (more.artifacts !== undefined) value.artifacts = more.artifacts
  return {
    key: FLOW_RUN.id,
    value,
    ...(more.note === undefined ? {} : { note: more.note }),
    ...(more.avro === undefined ? {} : { avro: more.avro }),
  }
}

const PENDING = ['PENDING', 'Pending'] as const
const RUNNING = ['RUNNING', 'Running'] as const
const COMPLETED = ['COMPLETED', 'Completed'] as const
const AWAITING_RETRY = ['SCHEDULED', 'AwaitingRetry'] as const
const RETRYING = ['RUNNING', 'Retrying'] as const
const CACHED = ['COMPLETED', 'Cached'] as const
const FAILED = ['FAILED', 'Failed'] as const

const PROGRESS = stableId('artifact/report-progress')
const REPORT = stableId('artifact/orders-report')

/** The messages grouped by task, for reading; `SAMPLE_FLOW` has them in the order they happen. */
const BY_TASK: readonly SampleMessage[] = [
  // The raw export: reads the shop database, writes the raw orders.
  enter('02:00:00.412877', extract, PENDING),
  enter('02:00:00.518230', extract, RUNNING),
  enter('02:00:04.906113', extract, COMPLETED, {
    metadata: { [RAW_ORDERS.key]: { rows: 48_210, files: 1, bytes: 9_830_412 } },
    note: 'materializes the raw orders, reading the shop database',
  }),

  // A cached task: its result is reused, nothing is materialized again.
  enter('02:00:00.420150', fxRates, PENDING),
  enter('02:00:00.633402', fxRates, CACHED, { runCount: 0, note: 'cached: no asset events' }),

  // Cleaning: a plain task, no assets of its own.
  enter('02:00:05.011248', clean, PENDING),
  enter('02:00:05.102937', clean, RUNNING),
  enter('02:00:09.377016', clean, COMPLETED, { note: 'plain task: passes the lineage through' }),

  // The load: fails once (the warehouse dropped the connection), then succeeds on its retry.
  enter('02:00:09.481530', load, PENDING),
  enter('02:00:09.590281', load, RUNNING),
  enter('02:00:21.004417', load, AWAITING_RETRY, {
    message: 'Retry 1/3: psycopg.OperationalError: server closed the connection unexpectedly',
    note: 'attempt 1 failed; will be retried: no asset events',
  }),
  enter('02:00:31.010054', load, RETRYING, { runCount: 2 }),
  enter('02:00:41.208114', load, COMPLETED, {
    runCount: 2,
    metadata: { [WAREHOUSE_ORDERS.key]: { rows_written: 48_187, rows_rejected: 23 } },
    note: 'materializes the warehouse table (dbt), with the lineage of its inputs',
    avro: true,
  }),

  // A debugging task with an asset key no consumer could use.
  enter('02:00:41.300772', debugDump, RUNNING, { note: 'asset key with a space: dead letter' }),

  // The report: a progress artifact while it renders, then the report itself.
  enter('02:00:41.315620', report, PENDING),
  enter('02:00:41.402219', report, RUNNING),
  enter('02:00:44.650391', report, COMPLETED, {
    artifacts: [
      {
        op: 'create',
        id: PROGRESS,
        key: 'report-progress',
        type: 'progress',
        description: 'Rendering the nightly orders report',
        data: 0,
        occurred: at('02:00:41.503311'),
      },
      { op: 'update', id: PROGRESS, changes: { data: 50 }, occurred: at('02:00:43.014470') },
      { op: 'update', id: PROGRESS, changes: { data: 100 }, occurred: at('02:00:44.519928') },
      {
        op: 'create',
        id: REPORT,
        key: 'orders-nightly-report',
        type: 'markdown',
        description: 'Nightly orders load',
        data: '# Orders, 2026-11-26\n\n| rows loaded | rejected |\n|---|---|\n| 48,187 | 23 |\n',
        occurred: at('02:00:44.601007'),
      },
    ],
    note: 'creates a progress artifact, updates it twice, creates a markdown report',
  }),

  // The partner export: its SFTP server is down.
  enter('02:00:41.330845', exportToPartner, PENDING),
  enter('02:00:41.418806', exportToPartner, RUNNING),
  enter('02:00:51.420033', exportToPartner, FAILED, {
    message: 'ConnectionRefusedError: [Errno 111] partner.example.com:22',
    note: 'materialization failed',
  }),
]

/** The story in the order a producer sends it: by `occurred`, which increases strictly. */
export const SAMPLE_FLOW: readonly SampleMessage[] = BY_TASK.toSorted((a, b) =>
  a.value.occurred.localeCompare(b.value.occurred),
)
