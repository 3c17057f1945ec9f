/**
 * Summary of a V8 CPU profile (`node --cpu-prof`): self time by function and by component
 * (kafkajs, avsc, the derivation, the codec, Node internals, GC, idle, …).
 *
 *   node dist/bench/kafka/profile.js FILE.cpuprofile [--top N]
 *   node dist/bench/kafka/profile.js FILE.cpuprofile --callers FUNCTION [--depth N]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly hitCount?: number
  readonly children?: readonly number[]
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly startTime: number
  readonly endTime: number
  readonly samples?: readonly number[]
  readonly timeDeltas?: readonly number[]
}

export interface SelfTime {
  readonly name: string
  readonly where: string
  readonly component: string
  readonly ms: number
  /** Share of the profile's busy time (everything but idle), in %. */
  readonly pct: number
}

export interface ProfileSummary {
  readonly total_ms: number
  readonly idle_ms: number
  readonly busy_ms: number
  readonly components: readonly { component: string; ms: number; pct: number }[]
  readonly functions: readonly SelfTime[]
}

/** The component a frame belongs to, by its script URL. */
export function componentOf(frame: CallFrame): string {
  const { url, functionName } = frame
  if (url === '') {
    if (functionName === '(garbage collector)') return 'gc'
    if (functionName === '(idle)') return 'idle'
    if (functionName === '(program)') return 'program (V8, native)'
    if (functionName === '(root)') return 'root'
    return 'V8 builtins (JSON, Buffer, …)'
  }
  const nm = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (nm !== null) {
    const pkg = nm[1] as string
    if (pkg === 'pino' || pkg === 'sonic-boom' || pkg === 'thread-stream') return 'logging (pino)'
    return pkg
  }
  const dist = /\/dist\/([^/]+)\//.exec(url)
  if (dist !== null) return `assetstream ${dist[1]}`
  if (/\/dist\/[^/]+\.js$/.test(url)) return 'assetstream (root)'
  if (url.startsWith('node:')) {
    if (/node:internal\/(streams|stream_base_commons|net|dns|tls)/.test(url) || url === 'node:net')
      return 'node: net/streams'
    if (/node:internal\/(timers|process\/task_queues|async_hooks)/.test(url))
      return 'node: timers/tasks'
    if (/buffer/.test(url)) return 'node: buffer'
    if (/crypto/.test(url)) return 'node: crypto'
    return 'node: other'
  }
  return 'other'
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  if (samples.length > 0) {
    // Each sample's time is the delta to the next sample (the last one gets none).
    for (let i = 0; i < samples.length; i++) {
      const id = samples[i] as number
      const dt = deltas[i + 1] ?? 0
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt))
    }
  } else {
    const interval = (profile.endTime - profile.startTime) / Math.max(1, sumHits(profile.nodes))
    for (const n of profile.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * interval)
  }
  const fns = new Map<string, { name: string; where: string; component: string; us: number }>()
  const comps = new Map<string, number>()
  let total = 0
  let idle = 0
  for (const [id, us] of selfUs) {
    const n = byId.get(id)
    if (n === undefined || us === 0) continue
    const f = n.callFrame
    const component = componentOf(f)
    total += us
    if (component === 'idle') {
      idle += us
      continue
    }
    comps.set(component, (comps.get(component) ?? 0) + us)
    const where = f.url === '' ? '' : `${shortUrl(f.url)}:${f.lineNumber + 1}`
    const key = `${f.functionName}@${where}`
    const e = fns.get(key) ?? { name: f.functionName || '(anonymous)', where, component, us: 0 }
    e.us += us
    fns.set(key, e)
  }
  const busy = total - idle
  const pct = (us: number): number => Math.round((1000 * us) / Math.max(1, busy)) / 10
  const ms = (us: number): number => Math.round(us / 100) / 10
  return {
    total_ms: ms(total),
    idle_ms: ms(idle),
    busy_ms: ms(busy),
    components: [...comps]
      .sort((a, b) => b[1] - a[1])
      .map(([component, us]) => ({ component, ms: ms(us), pct: pct(us) })),
    functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({
        name: e.name,
        where: e.where,
        component: e.component,
        ms: ms(e.us),
        pct: pct(e.us),
      })),
  }
}

/**
 * Who calls a function: its self time split by the chain of its `depth` nearest callers (frames
 * named `name`, any script).
 */
export function callersOf(
  profile: CpuProfile,
  name: string,
  depth = 2,
  top = 15,
): { chain: string; ms: number }[] {
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  const chains = new Map<string, number>()
  for (let i = 0; i < samples.length; i++) {
    const n = byId.get(samples[i] as number)
    if (n === undefined || n.callFrame.functionName !== name) continue
    const names: string[] = []
    for (let p = parent.get(n.id); p !== undefined && names.length < depth; p = parent.get(p)) {
      const f = (byId.get(p) as ProfileNode).callFrame
      names.push(
        `${f.functionName || '(anonymous)'} ${f.url === '' ? '' : shortUrl(f.url)}:${f.lineNumber + 1}`,
      )
    }
    const chain = names.join(' ← ')
    chains.set(chain, (chains.get(chain) ?? 0) + Math.max(0, deltas[i + 1] ?? 0))
  }
  return [...chains]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([chain, us]) => ({ chain, ms: Math.round(us / 100) / 10 }))
}

function sumHits(nodes: readonly ProfileNode[]): number {
  let n = 0
  for (const x of nodes) n += x.hitCount ?? 0
  return n
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length)
  const dist = url.lastIndexOf('/dist/')
  if (dist >= 0) return url.slice(dist + 1)
  return url.replace(/^file:\/\//, '')
}

export function loadProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
}

/** The summary as text: components, then the top functions. */
export function formatProfile(title: string, s: ProfileSummary): string {
  const lines = [
    `${title}: ${s.busy_ms} ms busy, ${s.idle_ms} ms idle (self time, share of busy)`,
    '  by component:',
    ...s.components.map(
      (c) => `    ${c.component.padEnd(32)} ${String(c.ms).padStart(9)} ms ${pctText(c.pct)}`,
    ),
    '  by function:',
    ...s.functions.map(
      (f) =>
        `    ${pctText(f.pct)} ${String(f.ms).padStart(9)} ms  ${f.name.slice(0, 40).padEnd(40)} ${f.where}`,
    ),
  ]
  return lines.join('\n')
}

const pctText = (p: number): string => `${p.toFixed(1).padStart(5)}%`

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      top: { type: 'string', default: '25' },
      callers: { type: 'string' },
      depth: { type: 'string', default: '2' },
    },
  })
  for (const file of positionals) {
    const profile = loadProfile(file)
    if (values.callers !== undefined) {
      process.stdout.write(`callers of ${values.callers} (${file}):\n`)
      for (const c of callersOf(profile, values.callers, Number(values.depth), Number(values.top)))
        process.stdout.write(`  ${String(c.ms).padStart(9)} ms  ${c.chain}\n`)
      continue
    }
    process.stdout.write(
      `${formatProfile(file, summarizeProfile(profile, Number(values.top)))}\n\n`,
    )
  }
}
