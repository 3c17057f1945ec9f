/** In-memory lineage state: what each task run of each flow run propagates (SPEC §2.3). */
import type { AssetRef, LineageLookup, LineageUpdate } from '../derive/types.js'

/** The lineage port the processor writes to; `get` is what the derivation reads. */
export interface LineageStore extends LineageLookup {
  apply(update: LineageUpdate): void
}

export class MemoryLineageStore implements LineageStore {
  /** flow run id → task run id → assets it propagates. Grouped so a flow run drops as one. */
  readonly #flowRuns = new Map<string, Map<string, readonly AssetRef[]>>()

  get(flowRunId: string, taskRunId: string): readonly AssetRef[] | undefined {
    return this.#flowRuns.get(flowRunId)?.get(taskRunId)
  }

  apply({ flowRunId, taskRunId, propagates }: LineageUpdate): void {
    let taskRuns = this.#flowRuns.get(flowRunId)
    if (taskRuns === undefined)
      this.#flowRuns.set(flowRunId, (taskRuns = new Map<string, readonly AssetRef[]>()))
    taskRuns.set(taskRunId, propagates)
  }

  delete(flowRunId: string, taskRunId: string): void {
    const taskRuns = this.#flowRuns.get(flowRunId)
    if (taskRuns?.delete(taskRunId) && taskRuns.size === 0) this.#flowRuns.delete(flowRunId)
  }

  /** Number of task-run entries held. */
  get size(): number {
    let n = 0
    for (const t of this.#flowRuns.values()) n += t.size
    return n
  }
}

/**
 * Uncommitted changes on top of a store: a batch derives against it, and its changes reach the
 * base only when the batch's records are acknowledged (`commit`), so a failed batch retried from
 * its first message sees the state as it was.
 */
export class OverlayLineageStore implements LineageStore {
  readonly #changes = new Map<string, LineageUpdate>()

  constructor(private readonly base: LineageStore) {}

  get(flowRunId: string, taskRunId: string): readonly AssetRef[] | undefined {
    return (
      this.#changes.get(overlayKey(flowRunId, taskRunId))?.propagates ??
      this.base.get(flowRunId, taskRunId)
    )
  }

  apply(update: LineageUpdate): void {
    const key = overlayKey(update.flowRunId, update.taskRunId)
    this.#changes.delete(key) // re-insert: iteration order is the order of the latest change
    this.#changes.set(key, update)
  }

  /** The latest change of each entry, in the order they were last changed. */
  changes(): LineageUpdate[] {
    return [...this.#changes.values()]
  }

  commit(): void {
    for (const u of this.#changes.values()) this.base.apply(u)
    this.#changes.clear()
  }
}

const overlayKey = (flowRunId: string, taskRunId: string): string =>
  JSON.stringify([flowRunId, taskRunId])
