/**
 * Micro-benchmark of the processing core, without Kafka: `npm run bench:derive`.
 *
 * The workload (./workload.ts) is generated and serialised to JSON bytes, as the messages arrive
 * from Kafka, before any timing. Then, in the same process, rounds alternate between
 * - the floor: `JSON.parse` + `JSON.stringify` of every message (the least any JSON-in, JSON-out
 *   processor does), and
 * - assetstream: decode + validate + derive (fresh in-memory lineage state, run context on) + Avro
 *   encoding of every event in the Confluent wire format,
 * after a warm-up pass over 10% of the messages. The medians are printed and written as JSON to
 * `bench/results/derive-latest.json` with the machine they ran on.
 *
 * A rejected message means the generator or the core is wrong: the benchmark then fails.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadEventSchemas } from '../codec/avro-schemas.js'
import { EventEncoder, type RegisteredSchema } from '../codec/event-codec.js'
import { decodeJson } from '../codec/lifecycle-decode.js'
import type { EventName } from '../derive/types.js'
import type { Rejection } from '../derive/validate.js'
import { processValue } from '../pipeline/process.js'
import { MemoryLineageStore } from '../state/memory-lineage-store.js'
import { generateWorkload } from './workload.js'

const DEFAULT_OUT = fileURLToPath(
  new URL('../../bench/results/derive-latest.json', import.meta.url),
)

const HELP = `Usage: node dist/bench/derive-bench.js [options]

  --messages N   messages in the workload (default 100000)
  --seed N       workload seed (default 1)
  --rounds N     timed rounds of each path (default 5); the median is reported
  --out FILE     where to write the JSON results (default bench/results/derive-latest.json)
  -h, --help     show this help
`

interface RejectionAt {
  readonly index: number
  readonly messageId: string | undefined
  readonly rejection: Rejection
}

interface PassResult {
  readonly seconds: number
  readonly events: number
  readonly outputBytes: number
  readonly rejected: readonly RejectionAt[]
  readonly eventsByType: ReadonlyMap<string, number>
}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(text)}`)
  return n
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

const now = (): bigint => process.hrtime.bigint()
const secondsSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9

/** The floor: what any JSON-in, JSON-out processor pays at least. */
function floorPass(values: readonly Buffer[]): PassResult {
  let bytes = 0
  const t0 = now()
  for (const buf of values) bytes += JSON.stringify(JSON.parse(buf.toString('utf8'))).length
  return {
    seconds: secondsSince(t0),
    events: 0,
    outputBytes: bytes,
    rejected: [],
    eventsByType: new Map(),
  }
}

/** assetstream: decode → validate → derive (+ lineage) → Avro-encode every event. */
function assetstreamPass(
  values: readonly Buffer[],
  encoder: EventEncoder,
  countTypes: boolean,
): PassResult {
  const store = new MemoryLineageStore()
  const options = { runContext: true }
  const rejected: RejectionAt[] = []
  const byType = new Map<string, number>()
  let events = 0
  let bytes = 0
  const t0 = now()
  for (let i = 0; i < values.length; i++) {
    const d = decodeJson((values[i] as Buffer).toString('utf8'))
    if (!d.ok) {
      rejected.push({ index: i, messageId: undefined, rejection: d.rejection })
      continue
    }
    const o = processValue(d.value, store, options)
    if (!o.ok) {
      const id = (d.value as { id?: unknown } | null)?.id
      rejected.push({
        index: i,
        messageId: typeof id === 'string' ? id : undefined,
        rejection: o.rejection,
      })
      continue
    }
    for (const e of o.events) {
      bytes += encoder.encode(e).length
      if (countTypes) byType.set(e.event, (byType.get(e.event) ?? 0) + 1)
    }
    events += o.events.length
  }
  return { seconds: secondsSince(t0), events, outputBytes: bytes, rejected, eventsByType: byType }
}

function fail(rejected: readonly RejectionAt[]): never {
  const byCode = new Map<string, number>()
  for (const r of rejected)
    byCode.set(
      `${r.rejection.code} at ${r.rejection.path}`,
      (byCode.get(`${r.rejection.code} at ${r.rejection.path}`) ?? 0) + 1,
    )
  process.stderr.write(
    `derive-bench: ${rejected.length} message(s) rejected — the workload generator or the core is wrong\n`,
  )
  for (const [what, n] of byCode) process.stderr.write(`  ${n} × ${what}\n`)
  for (const r of rejected.slice(0, 5)) {
    process.stderr.write(
      `  message #${r.index} (id ${r.messageId ?? '?'}): ${r.rejection.code} ${r.rejection.path}: ${r.rejection.message}\n`,
    )
  }
  process.exit(1)
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

function main(): void {
  const { values: args } = parseArgs({
    options: {
      messages: { type: 'string' },
      seed: { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (args.help === true) {
    process.stdout.write(HELP)
    return
  }
  const messages = positiveInt('messages', args.messages, 100_000)
  const seed = positiveInt('seed', args.seed, 1)
  const rounds = positiveInt('rounds', args.rounds, 5)
  const out = args.out ?? DEFAULT_OUT

  // Workload, serialised before any timing.
  const tGen = now()
  const values: Buffer[] = []
  const keys = new Set<string>()
  for (const m of generateWorkload({ messages, seed })) {
    values.push(Buffer.from(JSON.stringify(m.value), 'utf8'))
    keys.add(m.key)
  }
  const genSeconds = secondsSince(tGen)
  const inputBytes = values.reduce((n, b) => n + b.length, 0)

  const schemas = new Map<EventName, RegisteredSchema>()
  let fakeId = 1
  for (const [event, schema] of loadEventSchemas()) schemas.set(event, { ...schema, id: fakeId++ })
  const encoder = new EventEncoder(schemas)

  // Correctness and the event mix, once, untimed.
  const check = assetstreamPass(values, encoder, true)
  if (check.rejected.length > 0) fail(check.rejected)

  // Warm-up over 10% of the messages; the timed rounds use fresh stores.
  const warm = values.slice(0, Math.max(1, Math.floor(messages / 10)))
  floorPass(warm)
  assetstreamPass(warm, encoder, false)

  const floorRuns: number[] = []
  const asRuns: number[] = []
  for (let r = 0; r < rounds; r++) {
    const f = floorPass(values)
    const a = assetstreamPass(values, encoder, false)
    if (a.rejected.length > 0) fail(a.rejected)
    if (a.events !== check.events)
      throw new Error(`round ${r}: ${a.events} events, expected ${check.events}`)
    floorRuns.push(f.seconds)
    asRuns.push(a.seconds)
  }

  const floorSeconds = median(floorRuns)
  const asSeconds = median(asRuns)
  const floorMps = messages / floorSeconds
  const asMps = messages / asSeconds
  const asEps = check.events / asSeconds
  const ratio = asMps / floorMps
  const cpus = os.cpus()

  const rows: [string, string][] = [
    ['messages', fmt(messages)],
    ['flow runs (keys)', fmt(keys.size)],
    ['input', `${fmt(inputBytes / 1e6, 1)} MB, ${fmt(inputBytes / messages)} B/message`],
    ['events derived', `${fmt(check.events)} (${fmt(check.events / messages, 2)}/message)`],
    ['Avro output', `${fmt(check.outputBytes / 1e6, 1)} MB`],
    ['floor (JSON.parse+stringify)', `${fmt(floorMps)} msgs/s`],
    ['assetstream', `${fmt(asMps)} msgs/s, ${fmt(asEps)} events/s`],
    ['ratio assetstream/floor', fmt(ratio, 3)],
    [
      'rounds (median)',
      `${rounds}; floor ${floorRuns.map((s) => fmt(s * 1000)).join('/')} ms, assetstream ${asRuns.map((s) => fmt(s * 1000)).join('/')} ms`,
    ],
    [
      'machine',
      `${cpus[0]?.model ?? '?'} × ${cpus.length}, Node ${process.version}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB`,
    ],
  ]
  const w = Math.max(...rows.map(([k]) => k.length))
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n')
  process.stdout.write(
    `events by type: ${[...check.eventsByType].map(([t, n]) => `${t} ${fmt(n)}`).join(', ')}\n`,
  )

  const result = {
    benchmark: 'derive',
    date: new Date().toISOString(),
    workload: {
      messages,
      seed,
      flowRuns: keys.size,
      inputBytes,
      generateSeconds: genSeconds,
      events: check.events,
      eventsByType: Object.fromEntries(check.eventsByType),
      avroBytes: check.outputBytes,
    },
    rounds,
    floor: { messagesPerSecond: floorMps, medianSeconds: floorSeconds, seconds: floorRuns },
    assetstream: {
      messagesPerSecond: asMps,
      eventsPerSecond: asEps,
      medianSeconds: asSeconds,
      seconds: asRuns,
    },
    ratio,
    machine: {
      cpu: cpus[0]?.model ?? null,
      cores: cpus.length,
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      totalMemoryBytes: os.totalmem(),
    },
  }
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(`${out}.tmp`, JSON.stringify(result, null, 2) + '\n')
  renameSync(`${out}.tmp`, out)
  process.stdout.write(`results written to ${out}\n`)
}

main()
