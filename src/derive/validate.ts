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
  return Object.hasOwn(obj, key) ? (obj[key] ?? undefined) : undefined
}

function wrongType(path: string, want: string, v: unknown): Invalid {
  return new Invalid('invalid_message', path, `${path} must be ${want}, got ${describe(v)}`)
}

function optString(obj: Obj, key: string, path: string): string | undefined {
  const v = get(obj, key)
  if (v === undefined || typeof v === 'string') return v
  throw wrongType(child(path, key), 'a string', v)
}

function reqString(obj: Obj, key: string, path: string): string {
  const v = optString(obj, key, path)
  if (v === undefined)
    throw new Invalid('invalid_message', child(path, key), `${child(path, key)} is required`)
  return v
}

function optObject(obj: Obj, key: string, path: string): Obj | undefined {
  const v = get(obj, key)
  if (v === undefined || isObject(v)) return v
  throw wrongType(child(path, key), 'an object', v)
}

function reqObject(obj: Obj, key: string, path: string): Obj {
  const v = optObject(obj, key, path)
  if (v === undefined)
    throw new Invalid('invalid_message', child(path, key), `${child(path, key)} is required`)
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
  const p = child(path, key)
  arr.forEach((v, i) => {
    if (typeof v !== 'string') throw wrongType(`${p}[${i}]`, 'a string', v)
  })
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

/** Builds an object from the entries whose value is defined (exactOptionalPropertyTypes). */
function defined<T extends object>(entries: { [K in keyof T]: T[K] | undefined }): T {
  const out: Record<string, unknown> = {}
  // for-in over an object literal: its own keys in order, without the entries arrays.
  for (const k in entries) {
    const v = entries[k as keyof T]
    if (v !== undefined) out[k] = v
  }
  return out as T
}

function namedRef(obj: Obj, key: string, path: string): NamedRef | undefined {
  const o = optObject(obj, key, path)
  if (o === undefined) return undefined
  const p = child(path, key)
  return defined<NamedRef>({ id: optString(o, 'id', p), name: optString(o, 'name', p) })
}

function flowRun(root: Obj): FlowRunInfo | undefined {
  const fr = optObject(root, 'flow_run', '$')
  if (fr === undefined) return undefined
  const p = '$.flow_run'
  const pool = optObject(fr, 'work_pool', p)
  return defined<FlowRunInfo>({
    id: reqString(fr, 'id', p),
    name: optString(fr, 'name', p),
    flowId: optString(fr, 'flow_id', p),
    flowName: optString(fr, 'flow_name', p),
    deployment: namedRef(fr, 'deployment', p),
    workQueue: namedRef(fr, 'work_queue', p),
    workPool:
      pool === undefined
        ? undefined
        : defined({
            id: optString(pool, 'id', `${p}.work_pool`),
            name: optString(pool, 'name', `${p}.work_pool`),
            type: optString(pool, 'type', `${p}.work_pool`),
          }),
    tags: stringArray(fr, 'tags', p) ?? [],
  })
}

function taskInputs(tr: Obj): TaskInput[] | undefined {
  const inputs = optObject(tr, 'task_inputs', '$.task_run')
  if (inputs === undefined) return undefined
  const out: TaskInput[] = []
  for (const [parameter, value] of Object.entries(inputs)) {
    if (!Array.isArray(value))
      throw wrongType(child('$.task_run.task_inputs', parameter), 'an array', value)
    for (const entry of value) {
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
  return defined<TaskRunInfo>({ id, name, tags, taskInputs: taskInputs(tr) })
}

function state(root: Obj): LifecycleMessage['state'] {
  const st = reqObject(root, 'state', '$')
  const type = reqString(st, 'type', '$.state')
  if (!(STATE_TYPES as readonly string[]).includes(type)) {
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

function assetRef(v: unknown, path: string): AssetRef {
  if (typeof v === 'string') return { key: v }
  if (!isObject(v)) throw wrongType(path, 'an asset key string or an object', v)
  const key = reqString(v, 'key', path)
  const props = optObject(v, 'properties', path)
  if (props === undefined) return { key }
  const pp = `${path}.properties`
  const properties = defined<AssetProperties>({
    name: optString(props, 'name', pp),
    description: optString(props, 'description', pp),
    url: optString(props, 'url', pp),
    owners: stringArray(props, 'owners', pp),
  })
  return { key, properties }
}

function assetRefs(obj: Obj, key: string): AssetRef[] | undefined {
  const p = `$.assets.${key}`
  return optArray(obj, key, '$.assets')?.map((v, i) => assetRef(v, `${p}[${i}]`))
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
    for (const [key, value] of Object.entries(md)) {
      if (!isObject(value)) throw wrongType(child('$.assets.metadata', key), 'a JSON object', value)
      metadata.set(key, value as JsonObject)
    }
  }
  return defined<Assets>({ materializes, materializedBy, assetDeps, upstream, metadata })
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
    return defined<ArtifactOp>({
      op,
      id,
      changes: reqObject(v, 'changes', path) as JsonObject,
      occurred,
    })
  }
  return defined<ArtifactOp>({
    op,
    id,
    key: optString(v, 'key', path) ?? null,
    type: optString(v, 'type', path) ?? null,
    description: optString(v, 'description', path) ?? null,
    occurred,
  })
}

/** Structure and types: everything whose failure is `invalid_message`. */
function parseStructure(raw: unknown): LifecycleMessage {
  if (!isObject(raw)) throw wrongType('$', 'a JSON object', raw)
  const id = reqString(raw, 'id', '$')
  const occurred = timestamp(raw, 'occurred', '$', true) as number
  return defined<LifecycleMessage>({
    id,
    occurred,
    flowRun: flowRun(raw),
    taskRun: taskRun(raw),
    state: state(raw),
    assets: assets(raw),
    artifacts:
      optArray(raw, 'artifacts', '$')?.map((v, i) => artifact(v, `$.artifacts[${i}]`)) ?? [],
  })
}

function codePointLength(s: string, atLeast: number): number {
  if (s.length <= atLeast) return s.length // a code point is one or two UTF-16 units
  let n = 0
  for (const _ of s) n++
  return n
}

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
      a[field]?.forEach((ref, i) => checkAssetKey(ref.key, `$.assets.${name}[${i}]`))
    }
    for (const key of a.metadata.keys()) checkAssetKey(key, child('$.assets.metadata', key))
    for (const [name, field] of REF_LISTS) {
      a[field]?.forEach((ref, i) => {
        const d = ref.properties?.description
        if (
          d !== undefined &&
          codePointLength(d, MAX_ASSET_DESCRIPTION_LENGTH) > MAX_ASSET_DESCRIPTION_LENGTH
        ) {
          const p = `$.assets.${name}[${i}].properties.description`
          throw new Invalid(
            'invalid_asset_description',
            p,
            `${p} is longer than ${MAX_ASSET_DESCRIPTION_LENGTH} characters`,
          )
        }
      })
    }
  }
  msg.artifacts.forEach((art, i) => {
    if (art.op === 'create' && art.key !== null && !ARTIFACT_KEY.test(art.key)) {
      const p = `$.artifacts[${i}].key`
      throw new Invalid(
        'invalid_artifact_key',
        p,
        `${p}: artifact key ${JSON.stringify(art.key)} may hold only lowercase letters, digits and dashes`,
      )
    }
  })
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
