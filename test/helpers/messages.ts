/** Builders of lifecycle messages (SPEC §1 JSON) for table-driven tests. */

export type Json = Record<string, unknown>

export const FLOW_RUN_ID = '9cd8f7d8-6b25-5a91-967b-fb75f3f0d539'

/** A valid COMPLETED message of a plain task in a flow run; `patch` overrides top-level fields. */
export function message(patch: Json = {}): Json {
  return {
    id: 'msg-1',
    occurred: '2026-11-27T08:00:00.123456Z',
    flow_run: { id: FLOW_RUN_ID, name: 'amber-owl', flow_id: 'flow-1', flow_name: 'nightly-etl' },
    task_run: { id: 'task-1', name: 'load-0' },
    state: { type: 'COMPLETED' },
    ...patch,
  }
}

/** A materializing task's message. */
export function materializing(assets: Json, patch: Json = {}): Json {
  return message({ assets: { materializes: ['s3://lake/out'], ...assets }, ...patch })
}
