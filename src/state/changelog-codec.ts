/**
 * Records of the lineage changelog topic (compacted): key = the flow run and task run, value = what
 * the task run propagates; a null value (tombstone) removes the entry.
 */
import type { AssetRef } from '../derive/types.js'

export const changelogKey = (flowRunId: string, taskRunId: string): string =>
  JSON.stringify([flowRunId, taskRunId])

export function parseChangelogKey(
  key: Buffer | string,
): { flowRunId: string; taskRunId: string } | undefined {
  try {
    const k = JSON.parse(key.toString()) as unknown
    if (
      Array.isArray(k) &&
      k.length === 2 &&
      typeof k[0] === 'string' &&
      typeof k[1] === 'string'
    ) {
      return { flowRunId: k[0], taskRunId: k[1] }
    }
  } catch {
    // fall through: not one of ours
  }
  return undefined
}

interface ChangelogValue {
  readonly v: 1
  readonly assets: readonly AssetRef[]
}

/** The value of a change: null (a tombstone) for a removal. */
export const changelogValue = (propagates: readonly AssetRef[] | null): string | null =>
  propagates === null ? null : JSON.stringify({ v: 1, assets: propagates } satisfies ChangelogValue)

export function parseChangelogValue(value: Buffer | string): readonly AssetRef[] | undefined {
  try {
    const v = JSON.parse(value.toString()) as Partial<ChangelogValue>
    return v.v === 1 && Array.isArray(v.assets) ? v.assets : undefined
  } catch {
    return undefined
  }
}
