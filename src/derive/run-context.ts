/** The run context: related resources appended to every event (SPEC §2.4). */
import type { Labels, LifecycleMessage } from './types.js'

const ID = 'prefect.resource.id'

/** Compares by Unicode code point, not UTF-16 unit (the two differ past U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number
    const y = b.codePointAt(i) as number
    if (x !== y) return x - y
    if (x > 0xffff) i++
  }
  return a.length - b.length
}

/**
 * The run-context entries of a message, in SPEC order, and the index of each entry's id. Entries
 * are frozen: every event of the message shares them (and the encoder keeps their bytes).
 */
export interface RunContext {
  readonly entries: readonly Labels[]
  readonly indexOf: ReadonlyMap<string, number>
}

export const NO_RUN_CONTEXT: RunContext = { entries: [], indexOf: new Map() }

function entry(
  kind: string,
  id: string,
  name: string | undefined,
  poolType?: string,
): Readonly<Record<string, string>> {
  const labels: Record<string, string> = {
    'prefect.resource.id': `prefect.${kind}.${id}`,
    'prefect.resource.role': kind,
  }
  if (name !== undefined) labels['prefect.resource.name'] = name
  if (poolType !== undefined) labels['prefect.work-pool.type'] = poolType
  return Object.freeze(labels)
}

/** Tags of the flow run then the task run, de-duplicated, in code point order. */
function tagsOf(flowRunTags: readonly string[], taskRunTags: readonly string[]): string[] {
  if (flowRunTags.length + taskRunTags.length === 0) return []
  return [...new Set([...flowRunTags, ...taskRunTags])].sort(compareCodePoints)
}

/**
 * The run context of a message. It does not depend on the event, so the derivation builds it
 * once per message (when the message has an event) and filters per event with `appendRunContext`.
 * Entries whose id is absent are left out.
 */
export function runContext(msg: LifecycleMessage): RunContext {
  const fr = msg.flowRun
  const tr = msg.taskRun
  const out: Labels[] = []
  if (fr !== undefined) out.push(entry('flow-run', fr.id, fr.name))
  out.push(entry('task-run', tr.id, tr.name))
  if (fr !== undefined) {
    if (fr.flowId !== undefined) out.push(entry('flow', fr.flowId, fr.flowName))
    const { deployment, workQueue, workPool } = fr
    if (deployment?.id !== undefined) out.push(entry('deployment', deployment.id, deployment.name))
    if (workQueue?.id !== undefined) out.push(entry('work-queue', workQueue.id, workQueue.name))
    if (workPool?.id !== undefined)
      out.push(entry('work-pool', workPool.id, workPool.name, workPool.type))
  }
  for (const tag of tagsOf(fr?.tags ?? [], tr.tags))
    out.push(
      Object.freeze({
        'prefect.resource.id': `prefect.tag.${tag}`,
        'prefect.resource.role': 'tag',
      }),
    )
  const indexOf = new Map<string, number>()
  for (let i = 0; i < out.length; i++) indexOf.set((out[i] as Labels)[ID] as string, i)
  return { entries: out, indexOf }
}

/**
 * Appends the run context to an event's related list, leaving out an entry whose id already
 * appears in the resource or in an earlier related entry (run-context entries only).
 */
export function appendRunContext(
  resource: Labels,
  related: Labels[],
  context: RunContext,
): Labels[] {
  const entries = context.entries
  const n = entries.length
  if (n === 0) return related
  const indexOf = context.indexOf
  if (indexOf.size !== n) return appendRunContextBySet(resource, related, entries)
  // The entries' ids are distinct, so an entry is left out exactly when the resource or a related
  // entry of the event has its id.
  let skip: boolean[] | undefined
  let i = indexOf.get(resource[ID] as string)
  if (i !== undefined) (skip = new Array<boolean>(n).fill(false))[i] = true
  for (const r of related) {
    i = indexOf.get(r[ID] as string)
    if (i !== undefined) (skip ??= new Array<boolean>(n).fill(false))[i] = true
  }
  if (skip === undefined) {
    for (let j = 0; j < n; j++) related.push(entries[j] as Labels)
  } else {
    for (let j = 0; j < n; j++) if (skip[j] !== true) related.push(entries[j] as Labels)
  }
  return related
}

/** The general case, when two entries share an id (the first one wins). */
function appendRunContextBySet(
  resource: Labels,
  related: Labels[],
  entries: readonly Labels[],
): Labels[] {
  const seen = new Set<string>([resource[ID] as string])
  for (const r of related) seen.add(r[ID] as string)
  for (const c of entries) {
    const id = c[ID] as string
    if (!seen.has(id)) {
      seen.add(id)
      related.push(c)
    }
  }
  return related
}
