/**
 * The derivation (SPEC §2): a validated lifecycle message and a view of lineage state in, events
 * and the lineage change the message implies out. Pure: time and ids come from the message.
 */
import { eventId } from './event-id.js'
import { assetLabels } from './labels.js'
import { appendRunContext, NO_RUN_CONTEXT, runContext, type RunContext } from './run-context.js'
import type {
  AssetRef,
  EpochMicros,
  EventName,
  JsonObject,
  Labels,
  LifecycleMessage,
  LineageLookup,
  LineageUpdate,
  PrefectEvent,
} from './types.js'

export interface DeriveOptions {
  /** Append the run context to every event (SPEC §2.4); off gives the seed's literal shape. */
  readonly runContext: boolean
}

export interface Derivation {
  readonly events: PrefectEvent[]
  /** The lineage change to apply when the message is accepted; absent when it records nothing. */
  readonly lineage?: LineageUpdate
  /** Upstream task-run references that lineage state did not know (a metric). */
  readonly unknownUpstreams: number
}

const UPDATABLE_ARTIFACT_FIELDS = ['data', 'description', 'type', 'metadata_'] as const
const PARENTS = '__parents__'

/** First occurrence of each key wins, with its properties. */
function dedupe(refs: readonly AssetRef[]): AssetRef[] {
  const n = refs.length
  const out: AssetRef[] = []
  if (n <= 8) {
    // A few refs (the usual): compared pairwise, cheaper than a Set.
    next: for (let i = 0; i < n; i++) {
      const r = refs[i] as AssetRef
      for (let j = 0; j < out.length; j++) if ((out[j] as AssetRef).key === r.key) continue next
      out.push(r)
    }
    return out
  }
  const seen = new Set<string>()
  for (const r of refs) {
    if (!seen.has(r.key)) {
      seen.add(r.key)
      out.push(r)
    }
  }
  return out
}

type Status = 'succeeded' | 'failed'

/** Asset events only for the terminal state of the attempt (SPEC §2.2). */
function materializationStatus(msg: LifecycleMessage): Status | undefined {
  const { type, name } = msg.state
  if (type === 'COMPLETED' && name !== 'Cached') return 'succeeded'
  if (type === 'FAILED') return 'failed'
  return undefined
}

/** The upstream assets of a message: `asset_deps`, then the inherited ones, de-duplicated. */
function resolveUpstream(
  msg: LifecycleMessage,
  lineage: LineageLookup,
): { upstream: AssetRef[]; unknown: number } {
  const deps = msg.assets?.assetDeps ?? []
  const given = msg.assets?.upstream
  if (given !== undefined) return { upstream: dedupe([...deps, ...given]), unknown: 0 }
  const flowRunId = msg.flowRun?.id
  const inputs = msg.taskRun.taskInputs
  if (flowRunId === undefined || inputs === undefined) return { upstream: dedupe(deps), unknown: 0 }
  const inherited: AssetRef[] = [...deps]
  let unknown = 0
  for (const input of inputs) {
    if (input.parameter === PARENTS) continue // lineage never flows through parents
    const assets = lineage.get(flowRunId, input.taskRunId)
    if (assets === undefined) unknown++
    else inherited.push(...assets)
  }
  return { upstream: dedupe(inherited), unknown }
}

export function derive(
  msg: LifecycleMessage,
  lineage: LineageLookup,
  options: DeriveOptions,
): Derivation {
  // Built at the first event: most messages have none.
  let context: RunContext | undefined
  const events: PrefectEvent[] = []
  const emit = (
    event: EventName,
    occurred: EpochMicros,
    resource: Labels,
    related: Labels[],
    payload: JsonObject,
  ): void => {
    const id = eventId(
      msg.id,
      event,
      resource['prefect.resource.id'] as string,
      events.length,
      occurred,
    )
    context ??= options.runContext ? runContext(msg) : NO_RUN_CONTEXT
    events.push({
      occurred,
      event,
      resource,
      related: appendRunContext(resource, related, context),
      payload,
      id,
    })
  }

  for (const art of msg.artifacts) {
    const occurred = art.occurred ?? msg.occurred
    const id = `prefect.artifact.${art.id}`
    if (art.op === 'create') {
      const resource = art.key
        ? { 'prefect.resource.id': id, 'prefect.resource.name': art.key }
        : { 'prefect.resource.id': id }
      emit('prefect.artifact.created', occurred, resource, [], {
        key: art.key,
        type: art.type,
        description: art.description,
      })
    } else {
      const payload: JsonObject = {}
      for (const k of UPDATABLE_ARTIFACT_FIELDS) {
        if (Object.hasOwn(art.changes, k)) payload[k] = art.changes[k] as JsonObject[string]
      }
      emit('prefect.artifact.updated', occurred, { 'prefect.resource.id': id }, [], payload)
    }
  }

  const assets = msg.assets
  if (assets === undefined && msg.taskRun.taskInputs === undefined)
    return { events, unknownUpstreams: 0 }

  const materializes = dedupe(assets?.materializes ?? [])
  const status = materializes.length > 0 ? materializationStatus(msg) : undefined
  // A materializing task propagates what it materializes; only a plain task, or an asset event,
  // needs the upstream list resolved.
  const needUpstream =
    status !== undefined || (materializes.length === 0 && msg.flowRun !== undefined)
  const { upstream, unknown } = needUpstream
    ? resolveUpstream(msg, lineage)
    : { upstream: [], unknown: 0 }

  if (status !== undefined && assets !== undefined) {
    for (const ref of upstream) {
      emit('prefect.asset.referenced', msg.occurred, assetLabels(ref), [], {})
    }
    const event = `prefect.asset.materialization.${status}` as const
    // The same for every materialized asset: built once, frozen and shared.
    const shared: Labels[] = upstream.map((u) =>
      Object.freeze({ 'prefect.resource.id': u.key, 'prefect.resource.role': 'asset' }),
    )
    if (assets.materializedBy) {
      shared.push(
        Object.freeze({
          'prefect.resource.id': assets.materializedBy,
          'prefect.resource.role': 'asset-materialized-by',
        }),
      )
    }
    for (const ref of materializes) {
      emit(
        event,
        msg.occurred,
        assetLabels(ref),
        shared.slice(),
        assets.metadata.get(ref.key) ?? {},
      )
    }
  }

  const flowRunId = msg.flowRun?.id
  if (flowRunId === undefined) return { events, unknownUpstreams: unknown }
  return {
    events,
    lineage: {
      flowRunId,
      taskRunId: msg.taskRun.id,
      propagates: materializes.length > 0 ? materializes : upstream,
    },
    unknownUpstreams: unknown,
  }
}
