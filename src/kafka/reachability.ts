/**
 * Whether the cluster answers, for `/readyz`: a metadata request every few seconds on a client of
 * its own, whatever the consumer is doing. The consumer's own events say little about it: kafkajs
 * reports nothing while a broker is away until a request of its own fails, which took from 20 s
 * to never in a broker stop.
 */
import { within } from '../timing.js'
import type { Admin } from './kafkajs.js'

export interface ReachabilityOptions {
  /** How often the cluster is asked (and how long an answer may take). */
  readonly everyMs: number
  /** Failed requests in a row before the cluster counts as unreachable. */
  readonly failures: number
  readonly now?: () => number
}

export class Reachability {
  readonly #check: () => Promise<void>
  readonly #options: ReachabilityOptions
  readonly #now: () => number
  #failures = 0
  #since: number | undefined
  #timer: NodeJS.Timeout | undefined
  #running = false

  constructor(check: () => Promise<void>, options: ReachabilityOptions) {
    this.#check = check
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** A check of `admin`'s cluster: its metadata, through any broker that answers. */
  static ofAdmin(admin: Admin, options: ReachabilityOptions): Reachability {
    return new Reachability(async () => {
      await admin.connect() // again after a failure; at once while connected
      await admin.describeCluster()
    }, options)
  }

  /** Asks once; an answer later than `everyMs` counts as none. */
  async probe(): Promise<void> {
    if (await within(this.#check(), this.#options.everyMs).catch(() => false)) {
      this.#failures = 0
      this.#since = undefined
    } else {
      this.#failures++
      this.#since ??= this.#now()
    }
  }

  start(): void {
    this.#running = true
    const next = (): void => {
      this.#timer = setTimeout(() => {
        void this.probe().then(() => {
          if (this.#running) next()
        })
      }, this.#options.everyMs)
      this.#timer.unref()
    }
    next()
  }

  stop(): void {
    this.#running = false
    clearTimeout(this.#timer)
  }

  /** Undefined while the cluster answers, else why not ready. */
  notReady(): string | undefined {
    if (this.#failures < this.#options.failures || this.#since === undefined) return undefined
    const s = Math.round((this.#now() - this.#since) / 1000)
    return `the Kafka cluster does not answer (for ${s} s)`
  }
}
