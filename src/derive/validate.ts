/**
 * Validation of a decoded lifecycle message (SPEC §1). A message that breaks any rule is rejected
 * whole with the first code, in SPEC order, of the rules it breaks, and a message naming the path.
 * Nothing throws out of `validateMessage`.
 */
import type { InputErrorCode } from '../errors.js'
import { parseRfc3339 } from './time.js'
import {
  STATE_TYPES,
  type ArtifactOp,
  type AssetProperties,
  type AssetRef,
  type Assets,
  type FlowRunInfo,
  type JsonObject,
  type LifecycleMessage,
  type NamedRef,
  type StateType,
  type TaskInput,
  type TaskRunInfo,
} from './types.js'

export interface Rejection {
  readonly code: InputErrorCode
  readonly message: string
  /** JSON path of the offending field, as `$.assets.materializes[0]`; `$` for the whole message. */
  readonly path: string
}

export type Validated =
  | { readonly ok: true; readonly message: LifecycleMessage }
  | { readonly ok: false; readonly rejection: Rejection }

/** The name a state type has when the producer gives none (Prefect's defaults). */
const DEFAULT_STATE_NAMES: Readonly<Record<StateType, string>> = {
  SCHEDULED: 'Scheduled',
  PENDING: 'Pending',
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
  CANCELLING: 'Cancelling',
  CRASHED: 'Crashed',
  PAUSED: 'Paused',
}

export const MAX_ASSET_KEY_LENGTH = 512
export const MAX_ASSET_DESCRIPTION_LENGTH = 2500
/** Characters Prefect refuses in an asset key (prefect.assets.core). */
const FORBIDDEN_KEY_CHARS = /[\n\r\t\0 #?&%"'<>[\]{}|\\^`]/
const KEY_SCHEME = /^[a-z0-9]+:\/\//
const ARTIFACT_KEY = /^[a-z0-9-]*$/

/** Thrown inside validation only; `validateMessage` turns it into a `Rejection`. */
class Invalid extends Error {
  constructor(
    readonly code: InputErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message)
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const child = (path: string, key: string): string =>
  IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`

type Obj = Record<string, unknown>
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`

/** The value of an own field, with `null` read as absent (SPEC §1). */
function get(obj: Obj, key: string): unknown {
  const v = obj[key]
  return v === undefined || v === null || !Object.hasOwn(obj, key) ? undefined : v
}

function wrongType(path: string, want: string, v: unknown): Invalid {
  return new Invalid('invalid_message', path, `${path} must be ${want}, got ${describe(v)}`)
}

const required = (path: string): Invalid =>
  new Invalid('invalid_message', path, `${path} is required`)

// Paths are built only for a rejection: an accepted message pays for none.

function optString(obj: Obj, key: string, path: string): string | undefined {
  const v = get(obj, key)
  if (v === undefined || typeof v === 'string') return v
  throw wrongType(child(path, key), 'a string', v)
}

function reqString(obj: Obj, key: string, path: string): string {
  const v = optString(obj, key, path)
  if (v === undefined) throw required(child(path, key))
  return v
}

function optObject(obj: Obj, key: string, path: string): Obj | undefined {
  const v = get(obj, key)
  if (v === undefined || isObject(v)) return v
  throw wrongType(child(path, key), 'an object', v)
}

function reqObject(obj: Obj, key: string, path: string): Obj {
  const v = optObject(obj, key, path)
  if (v === undefined) throw required(child(path, key))
  return v
}

function optArray(obj: Obj, key: string, path: string): unknown[] | undefined {
  const v = get(obj, key)
  if (v === undefined || Array.isArray(v)) return v
  throw wrongType(child(path, key), 'an array', v)
}

function stringArray(obj: Obj, key: string, path: string): string[] | undefined {
  const arr = optArray(obj, key, path)
  if (arr === undefined) return undefined
  for (let i = 0; i < arr.length; i++) {
    const v: unknown = arr[i]
    if (typeof v !== 'string') throw wrongType(`${child(path, key)}[${i}]`, 'a string', v)
  }
  return arr as string[]
}

function timestamp(obj: Obj, key: string, path: string, required: boolean): number | undefined {
  const text = required ? reqString(obj, key, path) : optString(obj, key, path)
  if (text === undefined) return undefined
  const t = parseRfc3339(text)
  if (t === undefined) {
    const p = child(path, key)
    throw new Invalid(
      'invalid_message',
      p,
      `${p} must be an RFC 3339 date-time, got ${JSON.stringify(text)}`,
    )
  }
  return t
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** `{id?, name?}` of an object at `path`. */
function namedRef(o: Obj, path: string): NamedRef {
  const id = optString(o, 'id', path)
  const name = optString(o, 'name', path)
  const ref: Mutable<NamedRef> = {}
  if (id !== undefined) ref.id = id
  if (name !== undefined) ref.name = name
  return ref
}

function flowRun(root: Obj): FlowRunInfo | undefined {
  const fr = optObject(root, 'flow_run', '$')
  if (fr === undefined) return undefined
  const p = '$.flow_run'
  // Read in this order (work_pool's type first), so that the same field is reported first.
  const pool = optObject(fr, 'work_pool', p)
  const id = reqString(fr, 'id', p)
  const name = optString(fr, 'name', p)
  const flowId = optString(fr, 'flow_id', p)
  const flowName = optString(fr, 'flow_name', p)
  const deployment = optObject(fr, 'deployment', p)
  const deploymentRef = deployment && namedRef(deployment, '$.flow_run.deployment')
  const workQueue = optObject(fr, 'work_queue', p)
  const workQueueRef = workQueue && namedRef(workQueue, '$.flow_run.work_queue')
  let workPool: Mutable<NonNullable<FlowRunInfo['workPool']>> | undefined
  if (pool !== undefined) {
    const pp = '$.flow_run.work_pool'
    const poolId = optString(pool, 'id', pp)
    const poolName = optString(pool, 'name', pp)
    const poolType = optString(pool, 'type', pp)
    workPool = {}
    if (poolId !== undefined) workPool.id = poolId
    if (poolName !== undefined) workPool.name = poolName
    if (poolType !== undefined) workPool.type = poolType
  }
  const tags = stringArray(fr, 'tags', p) ?? []
  // Keys in the order of the type, tags last.
  const out: Partial<Mutable<FlowRunInfo>> = { id }
  if (name !== undefined) out.name = name
  if (flowId !== undefined) out.flowId = flowId
  if (flowName !== undefined) out.flowName = flowName
  if (deploymentRef !== undefined) out.deployment = deploymentRef
  if (workQueueRef !== undefined) out.workQueue = workQueueRef
  if (workPool !== undefined) out.workPool = workPool
  out.tags = tags
  return out as FlowRunInfo
}

function taskInputs(tr: Obj): TaskInput[] | undefined {
  const inputs = optObject(tr, 'task_inputs', '$.task_run')
  if (inputs === undefined) return undefined
  const out: TaskInput[] = []
  const parameters = Object.keys(inputs)
  for (let i = 0; i < parameters.length; i++) {
    const parameter = parameters[i] as string
    const value = inputs[parameter]
    if (!Array.isArray(value))
      throw wrongType(child('$.task_run.task_inputs', parameter), 'an array', value)
    for (let j = 0; j < value.length; j++) {
      const entry: unknown = value[j]
      // Parameters and constants are ignored; only upstream task-run references carry lineage.
      if (isObject(entry) && entry.input_type === 'task_run' && typeof entry.id === 'string') {
        out.push({ parameter, taskRunId: entry.id })
      }
    }
  }
  return out
}

function taskRun(root: Obj): TaskRunInfo {
  const tr = reqObject(root, 'task_run', '$')
  const p = '$.task_run'
  const id = reqString(tr, 'id', p)
  const name = optString(tr, 'name', p)
  optString(tr, 'task_key', p)
  const runCount = get(tr, 'run_count')
  if (runCount !== undefined && !Number.isInteger(runCount)) {
    throw wrongType(`${p}.run_count`, 'an integer', runCount)
  }
  const tags = stringArray(tr, 'tags', p) ?? []
  const inputs = taskInputs(tr)
  const out: Mutable<TaskRunInfo> = name === undefined ? { id, tags } : { id, name, tags }
  if (inputs !== undefined) out.taskInputs = inputs
  return out
}

const STATE_TYPE_SET: ReadonlySet<string> = new Set(STATE_TYPES)

function state(root: Obj): LifecycleMessage['state'] {
  const st = reqObject(root, 'state', '$')
  const type = reqString(st, 'type', '$.state')
  if (!STATE_TYPE_SET.has(type)) {
    throw new Invalid(
      'invalid_message',
      '$.state.type',
      `$.state.type: unknown state type ${JSON.stringify(type)}`,
    )
  }
  const name = optString(st, 'name', '$.state') ?? DEFAULT_STATE_NAMES[type as StateType]
  optString(st, 'message', '$.state')
  return { type: type as StateType, name }
}

/** The path of an asset ref: `$.assets.<list>[<i>]`. */
const refPath = (list: string, i: number): string => `$.assets.${list}[${i}]`

function assetRef(v: unknown, list: string, i: number): AssetRef {
  if (typeof v === 'string') return { key: v }
  if (!isObject(v)) throw wrongType(refPath(list, i), 'an asset key string or an object', v)
  const key = reqString(v, 'key', refPath(list, i))
  const props = get(v, 'properties')
  if (props === undefined) return { key }
  if (!isObject(props)) throw wrongType(`${refPath(list, i)}.properties`, 'an object', props)
  const pp = `${refPath(list, i)}.properties`
  const name = optString(props, 'name', pp)
  const description = optString(props, 'description', pp)
  const url = optString(props, 'url', pp)
  const owners = stringArray(props, 'owners', pp)
  const properties: Mutable<AssetProperties> = {}
  if (name !== undefined) properties.name = name
  if (description !== undefined) properties.description = description
  if (url !== undefined) properties.url = url
  if (owners !== undefined) properties.owners = owners
  return { key, properties }
}

function assetRefs(obj: Obj, key: string): AssetRef[] | undefined {
  const arr = optArray(obj, key, '$.assets')
  if (arr === undefined) return undefined
  const out: AssetRef[] = []
  for (let i = 0; i < arr.length; i++) out.push(assetRef(arr[i], key, i))
  return out
}

function assets(root: Obj): Assets | undefined {
  const a = optObject(root, 'assets', '$')
  if (a === undefined) return undefined
  const materializes = assetRefs(a, 'materializes') ?? []
  const materializedBy = optString(a, 'materialized_by', '$.assets')
  const assetDeps = assetRefs(a, 'asset_deps') ?? []
  const upstream = assetRefs(a, 'upstream')
  const metadata = new Map<string, JsonObject>()
  const md = optObject(a, 'metadata', '$.assets')
  if (md !== undefined) {
    for (const key of Object.keys(md)) {
      const value = md[key]
      if (!isObject(value)) throw wrongType(child('$.assets.metadata', key), 'a JSON object', value)
      metadata.set(key, value as JsonObject)
    }
  }
  // Keys in the order of the type.
  const out: Partial<Mutable<Assets>> = { materializes }
  if (materializedBy !== undefined) out.materializedBy = materializedBy
  out.assetDeps = assetDeps
  if (upstream !== undefined) out.upstream = upstream
  out.metadata = metadata
  return out as Assets
}

function artifact(v: unknown, path: string): ArtifactOp {
  if (!isObject(v)) throw wrongType(path, 'an object', v)
  const op = reqString(v, 'op', path)
  if (op !== 'create' && op !== 'update') {
    throw new Invalid(
      'invalid_message',
      `${path}.op`,
      `${path}.op: unknown artifact op ${JSON.stringify(op)}`,
    )
  }
  const id = reqString(v, 'id', path)
  if (id === '') throw new Invalid('invalid_message', `${path}.id`, `${path}.id must not be empty`)
  const occurred = timestamp(v, 'occurred', path, false)
  if (op === 'update') {
    const changes = reqObject(v, 'changes', path) as JsonObject
    return occurred === undefined ? { op, id, changes } : { op, id, changes, occurred }
  }
  const key = optString(v, 'key', path) ?? null
  const type = optString(v, 'type', path) ?? null
  const description = optString(v, 'description', path) ?? null
  return occurred === undefined
    ? { op, id, key, type, description }
    : { op, id, key, type, description, occurred }
}

function artifacts(root: Obj): ArtifactOp[] {
  const arr = optArray(root, 'artifacts', '$')
  const out: ArtifactOp[] = []
  if (arr !== undefined)
    for (let i = 0; i < arr.length; i++) out.push(artifact(arr[i], `$.artifacts[${i}]`))
  return out
}

/** Structure and types: everything whose failure is `invalid_message`. */
function parseStructure(raw: unknown): LifecycleMessage {
  if (!isObject(raw)) throw wrongType('$', 'a JSON object', raw)
  const id = reqString(raw, 'id', '$')
  const occurred = timestamp(raw, 'occurred', '$', true) as number
  const fr = flowRun(raw)
  const tr = taskRun(raw)
  const st = state(raw)
  const as = assets(raw)
  const arts = artifacts(raw)
  // Keys in the order of the type.
  const msg: Partial<Mutable<LifecycleMessage>> = { id, occurred }
  if (fr !== undefined) msg.flowRun = fr
  msg.taskRun = tr
  msg.state = st
  if (as !== undefined) msg.assets = as
  msg.artifacts = arts
  return msg as LifecycleMessage
}

function codePointLength(s: string, atLeast: number): number {
  if (s.length <= atLeast) return s.length // a code point is one or two UTF-16 units
  let n = 0
  for (const _ of s) n++
  return n
}

/** Whether an asset key breaks a rule; `checkAssetKey` says which. */
const badAssetKey = (key: string): boolean =>
  FORBIDDEN_KEY_CHARS.test(key) ||
  codePointLength(key, MAX_ASSET_KEY_LENGTH) > MAX_ASSET_KEY_LENGTH ||
  !KEY_SCHEME.test(key)

function checkAssetKey(key: string, path: string): void {
  const bad = FORBIDDEN_KEY_CHARS.exec(key)
  if (bad) {
    throw new Invalid(
      'invalid_asset_key',
      path,
      `${path}: asset key ${JSON.stringify(key)} contains the forbidden character ${JSON.stringify(bad[0])}`,
    )
  }
  if (codePointLength(key, MAX_ASSET_KEY_LENGTH) > MAX_ASSET_KEY_LENGTH) {
    throw new Invalid(
      'invalid_asset_key',
      path,
      `${path}: asset key is longer than ${MAX_ASSET_KEY_LENGTH} characters`,
    )
  }
  if (!KEY_SCHEME.test(key)) {
    throw new Invalid(
      'invalid_asset_key',
      path,
      `${path}: asset key ${JSON.stringify(key)} must start with a lowercase scheme and :// (as s3://)`,
    )
  }
}

const REF_LISTS = [
  ['materializes', 'materializes'],
  ['asset_deps', 'assetDeps'],
  ['upstream', 'upstream'],
] as const

/** The rules past structure, each over the whole message, in the order of their codes. */
function checkContent(msg: LifecycleMessage): void {
  const a = msg.assets
  if (a !== undefined) {
    for (const [name, field] of REF_LISTS) {
      const refs = a[field] ?? []
      for (let i = 0; i < refs.length; i++) {
        const key = (refs[i] as AssetRef).key
        if (badAssetKey(key)) checkAssetKey(key, refPath(name, i))
      }
    }
    for (const key of a.metadata.keys()) {
      if (badAssetKey(key)) checkAssetKey(key, child('$.assets.metadata', key))
    }
    for (const [name, field] of REF_LISTS) {
      const refs = a[field] ?? []
      for (let i = 0; i < refs.length; i++) {
        const d = (refs[i] as AssetRef).properties?.description
        if (
          d !== undefined &&
          codePointLength(d, MAX_ASSET_DESCRIPTION_LENGTH) > MAX_ASSET_DESCRIPTION_LENGTH
        ) {
          const p = `${refPath(name, i)}.properties.description`
          throw new Invalid(
            'invalid_asset_description',
            p,
            `${p} is longer than ${MAX_ASSET_DESCRIPTION_LENGTH} characters`,
          )
        }
      }
    }
  }
  const arts = msg.artifacts
  for (let i = 0; i < arts.length; i++) {
    const art = arts[i] as ArtifactOp
    if (art.op === 'create' && art.key !== null && !ARTIFACT_KEY.test(art.key)) {
      const p = `$.artifacts[${i}].key`
      throw new Invalid(
        'invalid_artifact_key',
        p,
        `${p}: artifact key ${JSON.stringify(art.key)} may hold only lowercase letters, digits and dashes`,
      )
    }
  }
}

/** Validates a decoded message (the result of `JSON.parse` or of the Avro mapping). */
export function validateMessage(raw: unknown): Validated {
  try {
    const message = parseStructure(raw)
    checkContent(message)
    return { ok: true, message }
  } catch (e) {
    if (e instanceof Invalid)
      return { ok: false, rejection: { code: e.code, path: e.path, message: e.message } }
    throw e
  }
}

/** The rejection of bytes that are not a decodable message at all. */
export const undecodable = (reason: string): Rejection => ({
  code: 'invalid_message',
  path: '$',
  message: `message cannot be decoded: ${reason}`,
})
