/**
 * `npm run demo`: the processor end to end on the local stack, in one command.
 *
 *  1. starts the local stack (Kafka + Apicurio registry) unless it is up, and leaves it running;
 *  2. creates an input topic of this run's own (`demo-<run id>.task-run-lifecycle`, 4 partitions):
 *     every topic and group of a run carries its run id, so runs never mix;
 *  3. starts the processor, `node dist/cli.js run`, as a child process (its log goes to a file);
 *  4. produces the sample flow run of `sample-flow.ts` (JSON, one message as Avro);
 *  5. prints the events as they arrive on the five event topics and the dead letters, decoded
 *     through the schema registry, until all of those `derive` expects have arrived;
 *  6. prints a summary, stops the processor (SIGTERM) and exits: 0 when every expected event
 *     arrived with the expected content, 1 otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { LIFECYCLE_SCHEMA_FILE, loadEventSchemas, loadSchema } from '../codec/avro-schemas.js'
import { decodeEvent } from '../codec/event-codec.js'
import { lifecycleToAvro } from '../codec/lifecycle-encode.js'
import { Registry, valueSubject } from '../codec/registry.js'
import { frame, unframe } from '../codec/wire.js'
import { DEFAULTS, eventTopic, loadConfig, type Config } from '../config/config.js'
import { toJsonForm, type JsonFormEvent } from '../derive/json-form.js'
import { EVENT_NAMES, type EventName } from '../derive/types.js'
import { AssetstreamError } from '../errors.js'
import {
  createKafka,
  Partitioners,
  type Admin,
  type Consumer,
  type IHeaders,
  type Kafka,
} from '../kafka/kafkajs.js'
import { createLogger } from '../logger.js'
import { HEADERS } from '../pipeline/batch.js'
import { processValue } from '../pipeline/process.js'
import { MemoryLineageStore } from '../state/memory-lineage-store.js'
import { FLOW_RUN, SAMPLE_FLOW, type SampleMessage } from './sample-flow.js'

/** The repository: `dist/demo/demo.js` is two levels down. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'dist', 'cli.js')
const STACK = join(ROOT, 'stack', 'stack.sh')

const ARRIVAL_TIMEOUT_MS = 60_000
const TOPICS_TIMEOUT_MS = 45_000
const STOP_TIMEOUT_MS = 20_000

/** A failure the demo explains itself: printed without a stack trace, exit status 1. */
class DemoError extends Error {}

const say = (line = ''): void => {
  process.stdout.write(`${line}\n`)
}
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
/** The steps so far, each with its own duration once the next one starts. */
const steps: { title: string; started: number; ms?: number }[] = []
const step = (title: string): void => {
  const now = Date.now()
  const last = steps.at(-1)
  if (last !== undefined) last.ms = now - last.started
  steps.push({ title, started: now })
  say(`\n▶ ${title}`)
}
/** How long the current step has taken so far. */
const stepTime = (): string => seconds(Date.now() - (steps.at(-1)?.started ?? Date.now()))
const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`

// ---------------------------------------------------------------------------------------------
// Configuration: the processor's own config module names every topic, for it and for us.

/** Settings the demo takes from the environment; it sets every other one itself. */
const FROM_ENVIRONMENT = new Set(['ASSETSTREAM_BROKERS', 'ASSETSTREAM_REGISTRY_URL'])

function demoEnvironment(runId: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (!name.startsWith('ASSETSTREAM_') || FROM_ENVIRONMENT.has(name)))
      env[name] = value
  }
  return {
    ...env,
    ASSETSTREAM_INPUT_TOPIC: `demo-${runId}.task-run-lifecycle`,
    ASSETSTREAM_TOPIC_PREFIX: `demo-${runId}.`,
    ASSETSTREAM_GROUP_ID: `demo-${runId}`,
    ASSETSTREAM_LOG_LEVEL: 'warn',
  }
}

/** A client whose kafkajs logs are dropped: for probing, where failures are expected. */
const quietKafka = (config: Config): Kafka =>
  createKafka({ brokers: config.brokers, clientId: 'assetstream-demo' }, createLogger('silent'))

const isLocalStack = (config: Config): boolean =>
  config.brokers.join(',') === DEFAULTS.brokers.join(',') &&
  config.registryUrl === DEFAULTS.registryUrl

// ---------------------------------------------------------------------------------------------
// The local stack.

function ensureStack(): void {
  if (spawnSync('bash', [STACK, 'status'], { stdio: 'ignore' }).status === 0) {
    say('  the local stack (Kafka + Apicurio registry) is up')
    return
  }
  say('  starting the local stack (Kafka + Apicurio registry): bash stack/stack.sh up')
  const up = spawnSync('bash', [STACK, 'up'], { stdio: ['ignore', 'inherit', 'inherit'] })
  if (up.status !== 0) {
    throw new DemoError(`bash stack/stack.sh up failed (exit ${String(up.status)}); see above`)
  }
}

// ---------------------------------------------------------------------------------------------
// Topics.

async function offsetsReady(admin: Admin, topics: readonly string[]): Promise<boolean> {
  try {
    for (const t of topics) await admin.fetchTopicOffsets(t)
    return true
  } catch {
    return false
  }
}

/** Waits until the processor created its output topics (it does so at start), leaders elected. */
async function waitForTopics(
  config: Config,
  topics: readonly string[],
  processor: ProcessorProcess,
): Promise<void> {
  const admin = quietKafka(config).admin({ retry: { retries: 0 } })
  await admin.connect()
  try {
    const deadline = Date.now() + TOPICS_TIMEOUT_MS
    for (;;) {
      const existing = new Set(await admin.listTopics())
      // Listed as soon as created, but usable only once the broker leads every partition: until
      // then a consumer's first offset look-up fails (kafkajs retries it, and logs an error).
      if (topics.every((t) => existing.has(t)) && (await offsetsReady(admin, topics))) return
      processor.checkAlive()
      if (Date.now() > deadline) {
        throw new DemoError(
          `the processor did not create its topics within ${seconds(TOPICS_TIMEOUT_MS)}; its log: ${processor.logFile}`,
        )
      }
      await sleep(200)
    }
  } finally {
    await admin.disconnect()
  }
}

/** Creates the input topic unless it exists, and waits until it is usable; whether it created it. */
async function createInputTopic(config: Config): Promise<boolean> {
  const admin = quietKafka(config).admin()
  await admin.connect()
  try {
    const topic = config.inputTopic
    if ((await admin.listTopics()).includes(topic)) return false
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true })
    for (let wait = 0; !(await offsetsReady(admin, [topic])); wait += 100) {
      if (wait > 10_000)
        throw new DemoError(`the topic ${topic} is not usable 10 s after its creation`)
      await sleep(100)
    }
    return true
  } finally {
    await admin.disconnect()
  }
}

// ---------------------------------------------------------------------------------------------
// The processor, as a child process.

interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

const describeExit = (e: Exit): string =>
  e.signal === null ? `exit status ${String(e.code)}` : `killed by ${e.signal}`

class ProcessorProcess {
  readonly #child: ChildProcess
  /** Set once the process exited. */
  exit: Exit | undefined
  readonly #exited: Promise<void>
  #terminated = false

  constructor(
    env: Record<string, string>,
    readonly logFile: string,
  ) {
    const log = openSync(logFile, 'a')
    this.#child = spawn(process.execPath, [CLI, 'run'], { env, stdio: ['ignore', log, log] })
    closeSync(log) // the child has its own descriptor
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.exit = { code, signal }
        process.off('exit', this.#orphaned)
        resolve()
      })
    })
    // Should the demo die (an uncaught error, its output closed), the processor still stops.
    process.on('exit', this.#orphaned)
  }

  readonly #orphaned = (): void => {
    this.#child.kill('SIGTERM')
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** Throws when the processor exited although nobody asked it to. */
  checkAlive(): void {
    if (this.exit === undefined || this.#terminated) return
    throw new DemoError(
      `the processor exited unexpectedly (${describeExit(this.exit)}); the end of its log:\n${this.logTail()}`,
    )
  }

  logTail(lines = 15): string {
    const text = readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines)
    return text.map((l) => `    ${l}`).join('\n')
  }

  /**
   * SIGTERM, then wait (bounded) for it to commit and exit; SIGKILL when it does not. The signal
   * is sent once: the processor handles one SIGTERM, a second one would kill it.
   */
  async stop(timeoutMs: number): Promise<{ exit: Exit; how: 'had exited' | 'stopped' | 'killed' }> {
    const running = this.exit === undefined
    if (running && !this.#terminated) this.#child.kill('SIGTERM')
    this.#terminated = true
    const inTime = await Promise.race([this.#exited.then(() => true), sleep(timeoutMs, false)])
    if (!inTime) this.#child.kill('SIGKILL')
    await this.#exited
    const exit = this.exit ?? { code: null, signal: null }
    return { exit, how: !running ? 'had exited' : inTime ? 'stopped' : 'killed' }
  }
}

// ---------------------------------------------------------------------------------------------
// What the processor must publish: the offline derivation (`derive`) of the same messages.

interface Expected {
  /** Event id → JSON form. */
  readonly events: ReadonlyMap<string, JsonFormEvent>
  /** Error code → dead letters with that code. */
  readonly deadLetters: ReadonlyMap<string, number>
}

function expectedOutcome(sample: readonly SampleMessage[], runContext: boolean): Expected {
  const store = new MemoryLineageStore() // one flow run: one partition's state
  const events = new Map<string, JsonFormEvent>()
  const deadLetters = new Map<string, number>()
  for (const m of sample) {
    const outcome = processValue(structuredClone(m.value), store, { runContext })
    if (outcome.ok) for (const e of outcome.events) events.set(e.id, toJsonForm(e))
    else deadLetters.set(outcome.rejection.code, (deadLetters.get(outcome.rejection.code) ?? 0) + 1)
  }
  return { events, deadLetters }
}

// ---------------------------------------------------------------------------------------------
// Producing the sample flow run.

/** Registers the lifecycle schema under `<input topic>-value` (Confluent REST API); its id. */
async function registerLifecycleSchema(registryUrl: string, subject: string): Promise<number> {
  const url = `${registryUrl}/subjects/${encodeURIComponent(subject)}/versions`
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schemaType: 'AVRO', schema: loadSchema(LIFECYCLE_SCHEMA_FILE).text }),
  })
  const body = (await response.json()) as { id?: unknown }
  if (!response.ok || typeof body.id !== 'number') {
    throw new DemoError(`registering ${subject}: HTTP ${response.status} ${JSON.stringify(body)}`)
  }
  return body.id
}

function describeMessage(m: SampleMessage): string {
  const { occurred, task_run, state } = m.value
  // The state's name only when it is not the usual one (`COMPLETED/Cached`, `RUNNING/Retrying`).
  const usual = state.name === undefined || state.name.toUpperCase() === state.type
  const stateText = usual ? state.type : `${state.type}/${state.name ?? ''}`
  const line = `  ${occurred.slice(11, 26)}  ${(task_run.name ?? task_run.id).padEnd(20)} ${stateText.padEnd(24)}${m.note ?? ''}`
  return line.trimEnd()
}

async function produceSample(
  kafka: Kafka,
  config: Config,
  sample: readonly SampleMessage[],
): Promise<void> {
  const lifecycle = loadSchema(LIFECYCLE_SCHEMA_FILE)
  let schemaId: number | undefined
  if (sample.some((m) => m.avro === true)) {
    const subject = valueSubject(config.inputTopic)
    schemaId = await registerLifecycleSchema(config.registryUrl, subject)
    say(`  lifecycle schema registered under ${subject}: id ${schemaId}`)
  }
  const messages = sample.map((m) => {
    say(describeMessage(m) + (m.avro === true ? ' (sent as Avro)' : ''))
    const value =
      m.avro === true && schemaId !== undefined
        ? frame(schemaId, lifecycle.type.toBuffer(lifecycleToAvro({ ...m.value })))
        : Buffer.from(JSON.stringify(m.value))
    return { key: m.key, value }
  })
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  })
  await producer.connect()
  try {
    await producer.send({ topic: config.inputTopic, acks: -1, messages })
  } finally {
    await producer.disconnect()
  }
  say(`  produced ${messages.length} messages to ${config.inputTopic}, key ${FLOW_RUN.id}`)
}

// ---------------------------------------------------------------------------------------------
// Watching the output topics.

interface DeadLetter {
  readonly code: string
  readonly message: string
}

const header = (headers: IHeaders | undefined, name: string): string | undefined => {
  const v = headers?.[name]
  const first = Array.isArray(v) ? v[0] : v
  return first === undefined ? undefined : first.toString()
}

/** `prefect.artifact.<uuid>` → the uuid's first 8 digits, enough to tell artifacts apart. */
const shortArtifactId = (resourceId: string): string =>
  `${resourceId.replace(/^prefect\.artifact\./, '').slice(0, 8)}…`

/** One line per event: what happened to which resource, and the task run that did it. */
function describeEvent(e: JsonFormEvent): string {
  const id = e.resource['prefect.resource.id'] ?? '?'
  const byRole = (role: string): string[] =>
    e.related
      .filter((r) => r['prefect.resource.role'] === role)
      .map((r) => r['prefect.resource.id'] ?? '?')
  let what: string
  switch (e.event) {
    case 'prefect.artifact.created': {
      const { key, type } = e.payload
      what = `artifact ${shortArtifactId(id)}  ${JSON.stringify(key)} (${typeof type === 'string' ? type : 'no type'})`
      break
    }
    case 'prefect.artifact.updated':
      what = `artifact ${shortArtifactId(id)}  ${Object.entries(e.payload)
        .map(([k, v]) => `${k} → ${JSON.stringify(v)}`)
        .join(', ')}`
      break
    case 'prefect.asset.referenced':
      what = id
      break
    case 'prefect.asset.materialization.succeeded':
    case 'prefect.asset.materialization.failed': {
      const upstream = byRole('asset')
      const by = byRole('asset-materialized-by')
      what = [
        id,
        upstream.length > 0 ? `← ${upstream.join(', ')}` : '',
        by.length > 0 ? `[${by.join(', ')}]` : '',
        Object.keys(e.payload).length > 0 ? JSON.stringify(e.payload) : '',
      ]
        .filter((s) => s !== '')
        .join('  ')
      break
    }
  }
  const task = e.related.find((r) => r['prefect.resource.role'] === 'task-run')
  const taskName = task?.['prefect.resource.name']
  return `  ${e.occurred.slice(11, 26)}  ${e.event.padEnd(40)} ${what}${taskName === undefined ? '' : `   · ${taskName}`}`
}

/** A consumer of its own group on the event topics and the DLQ, from the beginning. */
class Viewer {
  readonly events = new Map<string, JsonFormEvent>()
  readonly deadLetters: DeadLetter[] = []
  duplicates = 0
  readonly problems: string[] = []
  readonly #consumer: Consumer
  readonly #registry: Registry
  readonly #topics: ReadonlyMap<string, EventName>
  readonly #dlqTopic: string
  readonly #readers = loadEventSchemas()

  constructor(kafka: Kafka, config: Config) {
    this.#consumer = kafka.consumer({
      groupId: `${config.groupId}-viewer`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 200,
    })
    this.#registry = new Registry(config.registryUrl)
    this.#topics = new Map(EVENT_NAMES.map((e) => [eventTopic(config, e), e]))
    this.#dlqTopic = config.dlqTopic
  }

  async start(): Promise<void> {
    await this.#consumer.connect()
    await this.#consumer.subscribe({
      topics: [...this.#topics.keys(), this.#dlqTopic],
      fromBeginning: true,
    })
    await this.#consumer.run({
      eachMessage: async ({ topic, message }) => {
        try {
          if (topic === this.#dlqTopic) this.#onDeadLetter(message.headers)
          else if (message.value !== null) await this.#onEvent(topic, message.value)
        } catch (e) {
          const problem = `${topic} offset ${message.offset}: ${(e as Error).message}`
          this.problems.push(problem)
          say(`  ✗ cannot decode ${problem}`)
        }
      },
    })
  }

  stop(): Promise<void> {
    return this.#consumer.disconnect()
  }

  async #onEvent(topic: string, bytes: Buffer): Promise<void> {
    const event = this.#topics.get(topic)
    const reader = event === undefined ? undefined : this.#readers.get(event)
    const framed = unframe(bytes)
    if (reader === undefined || framed === undefined) throw new Error('not an event record')
    const writer = await this.#registry.typeById(framed.schemaId)
    const e = toJsonForm(decodeEvent(bytes, writer, reader.type))
    if (this.events.has(e.id)) {
      this.duplicates++
      say(`${describeEvent(e)}   (again: at-least-once duplicate)`)
      return
    }
    this.events.set(e.id, e)
    say(describeEvent(e))
  }

  #onDeadLetter(headers: IHeaders | undefined): void {
    const d: DeadLetter = {
      code: header(headers, HEADERS.errorCode) ?? '?',
      message: header(headers, HEADERS.errorMessage) ?? '?',
    }
    this.deadLetters.push(d)
    say(`  ${''.padEnd(15)}  ${'dead letter'.padEnd(40)} ${d.code}: ${d.message}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Comparing with the expectation.

function countDeadLetters(deadLetters: readonly DeadLetter[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const d of deadLetters) out.set(d.code, (out.get(d.code) ?? 0) + 1)
  return out
}

const total = (m: ReadonlyMap<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0)

function arrivedAll(viewer: Viewer, expected: Expected): boolean {
  for (const id of expected.events.keys()) if (!viewer.events.has(id)) return false
  return viewer.deadLetters.length >= total(expected.deadLetters)
}

/** What differs between what arrived and what `derive` expects; empty when all is well. */
function differences(viewer: Viewer, expected: Expected): string[] {
  const out: string[] = [...viewer.problems]
  for (const [id, e] of expected.events) {
    const got = viewer.events.get(id)
    if (got === undefined)
      out.push(`missing ${e.event} ${e.resource['prefect.resource.id']} (${id})`)
    else if (JSON.stringify(got) !== JSON.stringify(e))
      out.push(
        `${e.event} ${id} differs:\n      got      ${JSON.stringify(got)}\n      expected ${JSON.stringify(e)}`,
      )
  }
  for (const [id, e] of viewer.events) {
    if (!expected.events.has(id)) out.push(`unexpected ${e.event} ${id}`)
  }
  const got = countDeadLetters(viewer.deadLetters)
  for (const code of new Set([...got.keys(), ...expected.deadLetters.keys()])) {
    const [n, want] = [got.get(code) ?? 0, expected.deadLetters.get(code) ?? 0]
    if (n !== want) out.push(`${n} dead letters with code ${code}, expected ${want}`)
  }
  return out
}

async function waitForArrival(
  viewer: Viewer,
  expected: Expected,
  processor: ProcessorProcess,
): Promise<void> {
  const deadline = Date.now() + ARRIVAL_TIMEOUT_MS
  while (!arrivedAll(viewer, expected)) {
    processor.checkAlive()
    if (Date.now() > deadline) {
      const missing = differences(viewer, expected).filter(
        (d) => d.startsWith('missing') || d.includes('dead letters'),
      )
      throw new DemoError(
        `timed out after ${seconds(ARRIVAL_TIMEOUT_MS)}: ${viewer.events.size} of ${expected.events.size} expected events and ${viewer.deadLetters.length} of ${total(expected.deadLetters)} dead letters arrived:\n    ${missing.join('\n    ')}\n  the processor log: ${processor.logFile}`,
      )
    }
    await sleep(100)
  }
  await sleep(500) // a moment for anything unexpected to show up too
}

function printSummary(viewer: Viewer, expected: Expected): string[] {
  const byType = new Map<string, number>()
  for (const e of viewer.events.values()) byType.set(e.event, (byType.get(e.event) ?? 0) + 1)
  say(`  events (${viewer.events.size})`)
  for (const name of EVENT_NAMES) say(`    ${name.padEnd(42)} ${byType.get(name) ?? 0}`)
  say(`  dead letters (${viewer.deadLetters.length})`)
  for (const [code, n] of countDeadLetters(viewer.deadLetters)) say(`    ${code.padEnd(42)} ${n}`)
  if (viewer.duplicates > 0) say(`  duplicates (same ids, at-least-once): ${viewer.duplicates}`)
  const problems = differences(viewer, expected)
  if (problems.length === 0) {
    say(
      `  ✓ all ${expected.events.size} expected events arrived, ids and contents match \`derive\`; ` +
        `${total(expected.deadLetters)} dead letter${total(expected.deadLetters) === 1 ? '' : 's'} as expected`,
    )
  } else {
    say(`  ✗ ${problems.length} difference${problems.length === 1 ? '' : 's'} from \`derive\`:`)
    for (const p of problems) say(`    ${p}`)
  }
  return problems
}

/** The settings that name this run's topics and group, as flags (and the non-default peers). */
function lookSettings(config: Config): string {
  const flags = [
    `--input-topic ${config.inputTopic}`,
    `--topic-prefix ${config.topicPrefix}`,
    `--group-id ${config.groupId}`,
  ]
  if (!isLocalStack(config))
    flags.push(`--brokers ${config.brokers.join(',')}`, `--registry-url ${config.registryUrl}`)
  return flags.join(' ')
}

/** Runs the demo; true when everything `derive` expects arrived and the processor stopped cleanly. */
async function demo(): Promise<boolean> {
  const started = Date.now()
  const runId = Date.now().toString(36)
  const env = demoEnvironment(runId)
  const { config } = loadConfig(env, [])
  say(`assetstream demo — run ${runId}`)

  step('stack')
  if (isLocalStack(config)) ensureStack()
  else say(`  using brokers ${config.brokers.join(',')} and registry ${config.registryUrl}`)
  const kafka = createKafka(
    { brokers: config.brokers, clientId: 'assetstream-demo' },
    createLogger('error', 'assetstream-demo'),
  )

  step('topics and groups of this run')
  const created = await createInputTopic(config)
  say(`  input topic    ${config.inputTopic} (4 partitions, ${created ? 'created' : 'existed'})`)
  say(`  event topics   ${eventTopic(config, 'prefect.artifact.created')}, … (5, by the processor)`)
  say(`  dead letters   ${config.dlqTopic}`)
  say(`  lineage state  ${config.changelogTopic}`)
  say(`  groups         ${config.groupId} (the processor), ${config.groupId}-viewer (this demo)`)

  step('processor')
  mkdirSync(join(ROOT, '.stack'), { recursive: true })
  const processor = new ProcessorProcess(env, join(ROOT, '.stack', `demo-${runId}.log`))
  const logFile = relative(process.cwd(), processor.logFile)
  say(`  node dist/cli.js run   pid ${String(processor.pid)}, log ${logFile} (warnings and errors)`)
  running = processor

  const viewer = new Viewer(kafka, config)
  let problems: string[] = []
  try {
    const outputs = [...EVENT_NAMES.map((e) => eventTopic(config, e)), config.dlqTopic]
    await waitForTopics(config, outputs, processor)
    say(`  it registered its schemas and created its topics (${stepTime()})`)

    const expected = expectedOutcome(SAMPLE_FLOW, config.runContext)
    step(`producing flow run ${FLOW_RUN.name} of flow ${FLOW_RUN.flow_name}`)
    await viewer.start()
    await produceSample(kafka, config, SAMPLE_FLOW)

    step(
      `events and dead letters as they arrive, decoded through the registry ` +
        `(expecting ${plural(expected.events.size, 'event')}, ` +
        `${plural(total(expected.deadLetters), 'dead letter')})`,
    )
    say('  (5 topics × 4 partitions: they arrive out of order; the time says when it happened)')
    await waitForArrival(viewer, expected, processor)

    step('summary')
    problems = printSummary(viewer, expected)
  } finally {
    const [, { exit, how }] = await Promise.all([
      viewer.stop().catch(() => undefined),
      processor.stop(STOP_TIMEOUT_MS),
    ])
    if (how === 'stopped') say(`  processor stopped on SIGTERM (${describeExit(exit)})`)
    else if (how === 'killed')
      say(`  ✗ the processor did not stop within ${seconds(STOP_TIMEOUT_MS)} of SIGTERM: killed`)
    if (how === 'killed' || (how === 'stopped' && exit.code !== 0))
      problems.push(`the processor did not stop cleanly (${how}, ${describeExit(exit)})`)
  }
  step('done')
  for (const { title, ms } of steps.slice(0, -1)) say(`  ${seconds(ms ?? 0).padStart(7)}  ${title}`)
  say(`  ${seconds(Date.now() - started).padStart(7)}  in all`)
  const settings = lookSettings(config)
  say('\n  the topics of this run, to look at:')
  say(`    node dist/cli.js tail ${settings}`)
  say(`    node dist/cli.js topics verify ${settings}`)
  if (isLocalStack(config))
    say('  the stack is still running; `bash stack/stack.sh down` stops it and wipes its data')
  return problems.length === 0
}

/** Ctrl-C (or SIGTERM) stops the processor before exiting, so it commits and no child is left. */
let running: ProcessorProcess | undefined
let interrupted = false
const onSignal = (signal: NodeJS.Signals): void => {
  interrupted = true
  say(`\n${signal}: stopping the processor`)
  void (running?.stop(STOP_TIMEOUT_MS) ?? Promise.resolve()).finally(() => process.exit(130))
}
process.once('SIGINT', onSignal)
process.once('SIGTERM', onSignal)

try {
  process.exitCode = (await demo()) ? 0 : 1
} catch (e) {
  if (!interrupted) {
    const explained = e instanceof DemoError || e instanceof AssetstreamError
    const why = explained ? e.message : ((e as Error).stack ?? String(e))
    process.stderr.write(`\ndemo failed: ${why}\n`)
  }
  process.exitCode = 1
}
// kafkajs may keep a socket or a timer alive for a while after disconnecting.
setTimeout(() => process.exit(), 2_000).unref()
