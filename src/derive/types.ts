/**
 * Types of the derivation core: the validated lifecycle message (SPEC §1), the events derived from
 * it (SPEC §2) and the lineage port the derivation reads.
 */

export const STATE_TYPES = [
  'SCHEDULED',
  'PENDING',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'CANCELLING',
  'CRASHED',
  'PAUSED',
] as const
export type StateType = (typeof STATE_TYPES)[number]

/** Microseconds since the Unix epoch, UTC; exact within ±2^53 (years 1684–2255). */
export type EpochMicros = number

export interface AssetProperties {
  readonly name?: string
  readonly description?: string
  readonly url?: string
  readonly owners?: readonly string[]
}

export interface AssetRef {
  readonly key: string
  /** Properties that are present and not null; absent when the ref has none. */
  readonly properties?: AssetProperties
}

export interface NamedRef {
  readonly id?: string
  readonly name?: string
}

export interface FlowRunInfo {
  readonly id: string
  readonly name?: string
  readonly flowId?: string
  readonly flowName?: string
  readonly deployment?: NamedRef
  readonly workQueue?: NamedRef
  readonly workPool?: NamedRef & { readonly type?: string }
  readonly tags: readonly string[]
}

export interface TaskRunInfo {
  readonly id: string
  readonly name?: string
  readonly tags: readonly string[]
  /** `task_inputs` reduced to its task-run references, in object order; undefined when absent. */
  readonly taskInputs?: readonly TaskInput[]
}

export interface TaskInput {
  /** The parameter name (the key of `task_inputs`). */
  readonly parameter: string
  readonly taskRunId: string
}

export interface Assets {
  readonly materializes: readonly AssetRef[]
  readonly materializedBy?: string
  readonly assetDeps: readonly AssetRef[]
  readonly upstream?: readonly AssetRef[]
  /** Materialization metadata per asset key; each value is a JSON object. */
  readonly metadata: ReadonlyMap<string, JsonObject>
}

export type ArtifactOp =
  | {
      readonly op: 'create'
      readonly id: string
      readonly key: string | null
      readonly type: string | null
      readonly description: string | null
      readonly occurred?: EpochMicros
    }
  | {
      readonly op: 'update'
      readonly id: string
      readonly changes: JsonObject
      readonly occurred?: EpochMicros
    }

export interface LifecycleMessage {
  readonly id: string
  readonly occurred: EpochMicros
  readonly flowRun?: FlowRunInfo
  readonly taskRun: TaskRunInfo
  readonly state: { readonly type: StateType; readonly name: string }
  /** Undefined when the message declares no assets. */
  readonly assets?: Assets
  readonly artifacts: readonly ArtifactOp[]
}

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject
export interface JsonObject {
  [key: string]: JsonValue
}

export const EVENT_NAMES = [
  'prefect.artifact.created',
  'prefect.artifact.updated',
  'prefect.asset.referenced',
  'prefect.asset.materialization.succeeded',
  'prefect.asset.materialization.failed',
] as const
export type EventName = (typeof EVENT_NAMES)[number]

/** Resource labels, in the order the JSON form prints them. */
export type Labels = Readonly<Record<string, string>>

export interface PrefectEvent {
  readonly occurred: EpochMicros
  readonly event: EventName
  readonly resource: Labels
  readonly related: readonly Labels[]
  readonly payload: JsonObject
  readonly id: string
}

/**
 * What the derivation reads of lineage state (SPEC §2.3): the assets a task run of a flow run
 * propagates to its downstream task runs, or undefined when the task run is unknown.
 */
export interface LineageLookup {
  get(flowRunId: string, taskRunId: string): readonly AssetRef[] | undefined
}

/** A change of lineage state that a message implies, applied only when the message is accepted. */
export interface LineageUpdate {
  readonly flowRunId: string
  readonly taskRunId: string
  readonly propagates: readonly AssetRef[]
}
