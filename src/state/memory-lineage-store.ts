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

  /** Number of task-run entries held. */
  get size(): number {
    let n = 0
    for (const t of this.#flowRuns.values()) n += t.size
    return n
  }
}
