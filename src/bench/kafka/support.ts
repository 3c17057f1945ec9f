/** Helpers of the Kafka benchmark: child processes, /proc memory, statistics, Prometheus text. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

// ---------------------------------------------------------------------------------------------
// Statistics

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i] as number
}

export interface LatencySummary {
  readonly samples: number
  readonly p50_ms: number
  readonly p90_ms: number
  readonly p99_ms: number
  readonly p999_ms: number
  readonly max_ms: number
  readonly mean_ms: number
}

export function summarizeLatencies(values: Float64Array): LatencySummary | null {
  if (values.length === 0) return null
  const s = Float64Array.from(values).sort()
  let sum = 0
  for (const v of s) sum += v
  const r = (x: number): number => Math.round(x * 100) / 100
  return {
    samples: s.length,
    p50_ms: r(quantileSorted(s, 0.5)),
    p90_ms: r(quantileSorted(s, 0.9)),
    p99_ms: r(quantileSorted(s, 0.99)),
    p999_ms: r(quantileSorted(s, 0.999)),
    max_ms: r(s[s.length - 1] as number),
    mean_ms: r(sum / s.length),
  }
}

/** Least-squares slope and intercept of y over x. */
export function linearRegression(
  xs: readonly number[],
  ys: readonly number[],
): { slope: number; intercept: number } | null {
  const n = Math.min(xs.length, ys.length)
  if (n < 2) return null
  let sx = 0
  let sy = 0
  for (let i = 0; i < n; i++) {
    sx += xs[i] as number
    sy += ys[i] as number
  }
  const mx = sx / n
  const my = sy / n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx
    sxy += dx * ((ys[i] as number) - my)
    sxx += dx * dx
  }
  if (sxx === 0) return null
  const slope = sxy / sxx
  return { slope, intercept: my - slope * mx }
}

/** A growable Float64Array. */
export class Samples {
  #data = new Float64Array(1024)
  #length = 0
  push(v: number): void {
    if (this.#length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2)
      next.set(this.#data)
      this.#data = next
    }
    this.#data[this.#length++] = v
  }
  get length(): number {
    return this.#length
  }
  values(): Float64Array {
    return this.#data.subarray(0, this.#length)
  }
}

export const round = (x: number, digits = 1): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

// ---------------------------------------------------------------------------------------------
// /proc

/** A field of /proc/<pid>/status in MB (VmRSS, VmHWM), or undefined once the process is gone. */
export function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)
    return m === null ? undefined : Number(m[1]) / 1024
  } catch {
    return undefined
  }
}

/** CPU seconds (user + system, all threads) a process has used, or undefined once it is gone. */
export function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return undefined
  }
}

/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100

// ---------------------------------------------------------------------------------------------
// Child processes

/** A child process whose stderr and stdout go to a log file; the last lines are kept. */
export class Child {
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  readonly #log: WriteStream
  #tail = ''

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    logFile: string,
    options: SpawnOptions = {},
  ) {
    this.#log = createWriteStream(logFile)
    this.child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    const keep = (d: Buffer): void => {
      this.#log.write(d)
      this.#tail = (this.#tail + d.toString('utf8')).slice(-64 * 1024)
    }
    this.child.stdout?.on('data', keep)
    this.child.stderr?.on('data', keep)
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code, signal) => {
        this.#log.end()
        resolve(code ?? (signal === null ? null : -1))
      }),
    )
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** The last 64 KiB of its output. */
  get tail(): string {
    return this.#tail
  }

  /** Waits until its output matches `re`; fails when it exits first or after `timeoutMs`. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const m = re.exec(this.#tail)
      if (m !== null) return m
      if (!this.running)
        throw new Error(`${this.name} exited (${this.child.exitCode}):\n${this.#tail.slice(-3000)}`)
      if (Date.now() > until)
        throw new Error(`${this.name}: timed out waiting for ${re}:\n${this.#tail.slice(-3000)}`)
      await sleep(50)
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 30_000): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM')
    const timer = setTimeout(() => {
      if (this.running) this.child.kill('SIGKILL')
    }, graceMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Prometheus text

/** The sum of every sample of a metric (all label sets) in Prometheus text, or undefined. */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== ' ' && rest[0] !== '{') continue
    const v = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (Number.isFinite(v)) sum = (sum ?? 0) + v
  }
  return sum
}

/** GET a URL's text (undefined on any failure). */
export async function fetchText(url: string, timeoutMs = 5_000): Promise<string | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    return await r.text()
  } catch {
    return undefined
  }
}

/** GET a URL's status (0 on failure). */
export async function fetchStatus(url: string, timeoutMs = 2_000): Promise<number> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    await r.arrayBuffer()
    return r.status
  } catch {
    return 0
  }
}

/**
 * A set of event ids kept as 64-bit fingerprints (the ids' last 16 hex digits, hash-derived) in
 * open addressing: a soak's millions of ids in tens of MB, where a Set of strings takes a GB.
 */
export class IdSet {
  #hi = new Uint32Array(1 << 16)
  #lo = new Uint32Array(1 << 16)
  #used = new Uint8Array(1 << 16)
  #size = 0

  get size(): number {
    return this.#size
  }

  static #fingerprint(id: string): [number, number] {
    const hex = id.replace(/-/g, '').slice(-16)
    return [parseInt(hex.slice(0, 8), 16) >>> 0, parseInt(hex.slice(8), 16) >>> 0]
  }

  #slot(hi: number, lo: number): number {
    const mask = this.#used.length - 1
    let i = (Math.imul(lo ^ hi, 0x9e3779b1) >>> 0) & mask
    while (this.#used[i] === 1 && (this.#hi[i] !== hi || this.#lo[i] !== lo)) i = (i + 1) & mask
    return i
  }

  /** Adds an id; false when it was there already. */
  add(id: string): boolean {
    const [hi, lo] = IdSet.#fingerprint(id)
    const i = this.#slot(hi, lo)
    if (this.#used[i] === 1) return false
    this.#used[i] = 1
    this.#hi[i] = hi
    this.#lo[i] = lo
    if (++this.#size * 2 > this.#used.length) this.#grow()
    return true
  }

  has(id: string): boolean {
    const [hi, lo] = IdSet.#fingerprint(id)
    return this.#used[this.#slot(hi, lo)] === 1
  }

  #grow(): void {
    const [hi, lo, used] = [this.#hi, this.#lo, this.#used]
    const n = used.length * 2
    this.#hi = new Uint32Array(n)
    this.#lo = new Uint32Array(n)
    this.#used = new Uint8Array(n)
    for (let j = 0; j < used.length; j++)
      if (used[j] === 1) {
        const i = this.#slot(hi[j] as number, lo[j] as number)
        this.#used[i] = 1
        this.#hi[i] = hi[j] as number
        this.#lo[i] = lo[j] as number
      }
  }
}
