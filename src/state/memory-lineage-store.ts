/** In-memory lineage state: what each task run of each flow run propagates (SPEC §2.3). */
import type { AssetRef, LineageLookup, LineageUpdate } from '../derive/types.js'

/** The lineage port the processor writes to; `get` is what the derivation reads. */
export interface LineageStore extends LineageLookup {
  apply(update: LineageUpdate): void
}

interface Entry {
  readonly assets: readonly AssetRef[]
  /** When the entry was last written (Unix ms): its idle time counts from here. */
  readonly at: number
}

export interface LineageKey {
  readonly flowRunId: string
  readonly taskRunId: string
}

export class MemoryLineageStore implements LineageStore {
  /** flow run id → task run id → entry. Grouped so a flow run drops as one. */
  readonly #flowRuns = new Map<string, Map<string, Entry>>()
  #size = 0

  /** `now` stamps entries for idle expiry; the offline command never expires anything. */
  constructor(private readonly now: () => number = () => 0) {}

  get(flowRunId: string, taskRunId: string): readonly AssetRef[] | undefined {
    return this.#flowRuns.get(flowRunId)?.get(taskRunId)?.assets
  }

  apply(update: LineageUpdate): void {
    this.set(update, this.now())
  }

  /** Writes an entry with the time it was last written (a restore passes the record's time). */
  set({ flowRunId, taskRunId, propagates }: LineageUpdate, at: number): void {
    let taskRuns = this.#flowRuns.get(flowRunId)
    if (taskRuns === undefined) this.#flowRuns.set(flowRunId, (taskRuns = new Map<string, Entry>()))
    if (!taskRuns.has(taskRunId)) this.#size++
    taskRuns.set(taskRunId, { assets: propagates, at })
  }

  delete(flowRunId: string, taskRunId: string): void {
    const taskRuns = this.#flowRuns.get(flowRunId)
    if (taskRuns?.delete(taskRunId) !== true) return
    this.#size--
    if (taskRuns.size === 0) this.#flowRuns.delete(flowRunId)
  }

  /** Up to `limit` entries last written before `before` (Unix ms): idle ones, to expire. */
  idle(before: number, limit = Infinity): LineageKey[] {
    const out: LineageKey[] = []
    for (const [flowRunId, taskRuns] of this.#flowRuns) {
      for (const [taskRunId, e] of taskRuns) {
        if (out.length >= limit) return out
        if (e.at < before) out.push({ flowRunId, taskRunId })
      }
    }
    return out
  }

  /** Number of task-run entries held. */
  get size(): number {
    return this.#size
  }

  /** An estimate of the memory the entries hold: the UTF-16 size of their strings, plus overhead. */
  approximateBytes(): number {
    let bytes = 0
    for (const [flowRunId, taskRuns] of this.#flowRuns) {
      bytes += 2 * flowRunId.length + 64
      for (const [taskRunId, e] of taskRuns) {
        bytes += 2 * taskRunId.length + 64
        for (const a of e.assets) {
          bytes += 2 * a.key.length + 48
          const p = a.properties
          if (p !== undefined) {
            bytes +=
              2 * ((p.name?.length ?? 0) + (p.description?.length ?? 0) + (p.url?.length ?? 0))
            for (const o of p.owners ?? []) bytes += 2 * o.length + 16
          }
        }
      }
    }
    return bytes
  }
}

/** A change of one entry: new assets, or null for a removal. */
export interface LineageChange extends LineageKey {
  readonly propagates: readonly AssetRef[] | null
}

/**
 * Uncommitted changes on top of a store: a batch derives against it, and its changes reach the
 * base only when the batch's records are acknowledged (`commit`), so a failed batch retried from
 * its first message sees the state as it was.
 */
export class OverlayLineageStore implements LineageStore {
  readonly #changes = new Map<string, LineageChange>()

  constructor(private readonly base: MemoryLineageStore) {}

  get(flowRunId: string, taskRunId: string): readonly AssetRef[] | undefined {
    const c = this.#changes.get(overlayKey(flowRunId, taskRunId))
    if (c === undefined) return this.base.get(flowRunId, taskRunId)
    return c.propagates ?? undefined
  }

  apply(update: LineageUpdate): void {
    this.#set(update)
  }

  remove(key: LineageKey): void {
    this.#set({ ...key, propagates: null })
  }

  #set(change: LineageChange): void {
    const key = overlayKey(change.flowRunId, change.taskRunId)
    this.#changes.delete(key) // re-insert: iteration order is the order of the latest change
    this.#changes.set(key, change)
  }

  /** The latest change of each entry, in the order they were last changed. */
  changes(): LineageChange[] {
    return [...this.#changes.values()]
  }

  commit(): void {
    for (const c of this.#changes.values()) {
      if (c.propagates === null) this.base.delete(c.flowRunId, c.taskRunId)
      else
        this.base.apply({
          flowRunId: c.flowRunId,
          taskRunId: c.taskRunId,
          propagates: c.propagates,
        })
    }
    this.#changes.clear()
  }
}

const overlayKey = (flowRunId: string, taskRunId: string): string =>
  JSON.stringify([flowRunId, taskRunId])
