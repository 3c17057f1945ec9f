/** The run context: related resources appended to every event (SPEC §2.4). */
import type { Labels, LifecycleMessage, NamedRef } from './types.js'

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

function entry(kind: string, ref: NamedRef | undefined, extra?: Labels): Labels | undefined {
  if (ref?.id === undefined) return undefined
  const labels: Record<string, string> = {
    'prefect.resource.id': `prefect.${kind}.${ref.id}`,
    'prefect.resource.role': kind,
  }
  if (ref.name !== undefined) labels['prefect.resource.name'] = ref.name
  return extra === undefined ? labels : { ...labels, ...extra }
}

/**
 * The run-context entries of a message, in SPEC order. They do not depend on the event, so the
 * derivation builds them once per message and filters per event with `appendRunContext`.
 */
export function runContext(msg: LifecycleMessage): Labels[] {
  const fr = msg.flowRun
  const tr = msg.taskRun
  const pool = fr?.workPool
  const out = [
    entry('flow-run', fr),
    entry('task-run', tr),
    entry(
      'flow',
      fr?.flowId === undefined
        ? undefined
        : { id: fr.flowId, ...(fr.flowName === undefined ? {} : { name: fr.flowName }) },
    ),
    entry('deployment', fr?.deployment),
    entry('work-queue', fr?.workQueue),
    entry(
      'work-pool',
      pool,
      pool?.type === undefined ? undefined : { 'prefect.work-pool.type': pool.type },
    ),
  ].filter((e): e is Labels => e !== undefined)
  const tags = [...new Set([...(fr?.tags ?? []), ...tr.tags])].sort(compareCodePoints)
  for (const tag of tags)
    out.push({ 'prefect.resource.id': `prefect.tag.${tag}`, 'prefect.resource.role': 'tag' })
  return out
}

/**
 * Appends the run context to an event's related list, leaving out an entry whose id already
 * appears in the resource or in an earlier related entry (run-context entries only).
 */
export function appendRunContext(
  resource: Labels,
  related: Labels[],
  context: readonly Labels[],
): Labels[] {
  if (context.length === 0) return related
  const seen = new Set<string>([resource['prefect.resource.id'] as string])
  for (const r of related) seen.add(r['prefect.resource.id'] as string)
  for (const c of context) {
    const id = c['prefect.resource.id'] as string
    if (!seen.has(id)) {
      seen.add(id)
      related.push(c)
    }
  }
  return related
}
