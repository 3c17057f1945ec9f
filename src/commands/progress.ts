/** Progress of a bounded job: a bar on a terminal, periodic log lines otherwise. */
import type { Writable } from 'node:stream'
import type { Logger } from '../logger.js'

const BAR = 30

export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return '--:--'
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const pad = (n: number) => String(n).padStart(2, '0')
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`
}

/** One line: bar, done/total, rate, time left. */
export function progressLine(done: number, total: number, elapsedSeconds: number): string {
  const share = total > 0 ? Math.min(1, done / total) : 1
  const filled = Math.round(share * BAR)
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0
  const left = rate > 0 ? (total - done) / rate : Infinity
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} messages  ${Math.round(rate).toLocaleString('en-US')} msg/s  ${formatDuration(left)} left`
}

export class Progress {
  readonly #started = performance.now()
  #done = 0
  #lastDraw = 0
  readonly #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly total: number,
    private readonly out: Writable & { isTTY?: boolean },
    private readonly logger: Logger,
    logEveryMs = 5_000,
  ) {
    if (!out.isTTY) {
      this.#timer = setInterval(() => this.#log(), logEveryMs)
      this.#timer.unref()
    }
  }

  get elapsedSeconds(): number {
    return (performance.now() - this.#started) / 1000
  }

  update(done: number): void {
    this.#done = done
    if (!this.out.isTTY) return
    const now = performance.now()
    if (now - this.#lastDraw < 100 && done < this.total) return
    this.#lastDraw = now
    this.out.write(`\r${progressLine(done, this.total, this.elapsedSeconds)}`)
  }

  #log(): void {
    this.logger.info(
      {
        done: this.#done,
        total: this.total,
        progress: progressLine(this.#done, this.total, this.elapsedSeconds),
      },
      'replay progress',
    )
  }

  end(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    if (this.out.isTTY)
      this.out.write(`\r${progressLine(this.#done, this.total, this.elapsedSeconds)}\n`)
    else this.#log()
  }
}
