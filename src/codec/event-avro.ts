/**
 * Events to Avro records of their `.avsc` and back. Invariant (SPEC §3): mapping an event to its
 * record and the decoded record back gives exactly the event's JSON form.
 */
import type { EventName, JsonObject, JsonValue, Labels, PrefectEvent } from '../derive/types.js'

const ID = 'prefect.resource.id'
const ROLE = 'prefect.resource.role'
const NAME = 'prefect.resource.name'

/** Asset resource labels and their Avro fields, in label order. */
const ASSET_FIELDS = [
  ['name', NAME],
  ['description', 'prefect.asset.description'],
  ['url', 'prefect.asset.url'],
  ['owners', 'prefect.asset.owners'],
] as const
const UPDATED_FIELDS = ['data', 'description', 'type', 'metadata_'] as const

interface RelatedRecord {
  id: string
  role: string
  name: string | null
  labels: Record<string, string>
}

function relatedToAvro(labels: Labels): RelatedRecord {
  const rest: Record<string, string> = {}
  for (const k in labels) if (k !== ID && k !== ROLE && k !== NAME) rest[k] = labels[k] as string
  return {
    id: labels[ID] as string,
    role: labels[ROLE] as string,
    name: labels[NAME] ?? null,
    labels: rest,
  }
}

function relatedFromAvro(r: RelatedRecord): Labels {
  const labels: Record<string, string> = { [ID]: r.id, [ROLE]: r.role }
  if (r.name !== null) labels[NAME] = r.name
  for (const k in r.labels) labels[k] = r.labels[k] as string
  return labels
}

const str = (v: JsonValue | undefined): string | null => (typeof v === 'string' ? v : null)
const isAsset = (e: EventName): boolean => e.startsWith('prefect.asset.')

/** The Avro record of an event, for the schema of its type. */
export function eventToAvro(e: PrefectEvent): Record<string, unknown> {
  const r = e.resource
  const rec: Record<string, unknown> = { occurred: e.occurred, event: e.event }
  if (isAsset(e.event)) {
    const res: Record<string, string | null> = { id: r[ID] as string }
    for (const [field, label] of ASSET_FIELDS) res[field] = r[label] ?? null
    rec.resource = res
  } else {
    rec.resource = { id: r[ID], name: r[NAME] ?? null }
  }
  rec.related = e.related.map(relatedToAvro)
  const p = e.payload
  switch (e.event) {
    case 'prefect.artifact.created':
      rec.payload = { key: str(p.key), type: str(p.type), description: str(p.description) }
      break
    case 'prefect.artifact.updated': {
      const payload: Record<string, string | null> = {}
      for (const k of UPDATED_FIELDS) payload[k] = Object.hasOwn(p, k) ? JSON.stringify(p[k]) : null
      rec.payload = payload
      break
    }
    case 'prefect.asset.referenced':
      break // payload is always {} and has no field
    case 'prefect.asset.materialization.succeeded':
    case 'prefect.asset.materialization.failed':
      rec.payload = JSON.stringify(p)
      break
  }
  rec.id = e.id
  rec.follows = null
  return rec
}

/** The event of a decoded Avro record (as avsc returns it for the schema of `event`). */
export function eventFromAvro(rec: Record<string, unknown>): PrefectEvent {
  const event = rec.event as EventName
  const res = rec.resource as Record<string, string | null>
  const resource: Record<string, string> = { [ID]: res.id as string }
  if (isAsset(event)) {
    for (const [field, label] of ASSET_FIELDS) {
      const v = res[field]
      if (v !== null && v !== undefined) resource[label] = v
    }
  } else if (res.name !== null && res.name !== undefined) {
    resource[NAME] = res.name
  }
  let payload: JsonObject
  switch (event) {
    case 'prefect.artifact.created': {
      const p = rec.payload as Record<string, string | null>
      payload = { key: p.key ?? null, type: p.type ?? null, description: p.description ?? null }
      break
    }
    case 'prefect.artifact.updated': {
      const p = rec.payload as Record<string, string | null>
      payload = {}
      for (const k of UPDATED_FIELDS) {
        const v = p[k]
        if (v !== null && v !== undefined) payload[k] = JSON.parse(v) as JsonValue
      }
      break
    }
    case 'prefect.asset.referenced':
      payload = {}
      break
    case 'prefect.asset.materialization.succeeded':
    case 'prefect.asset.materialization.failed':
      payload = JSON.parse(rec.payload as string) as JsonObject
      break
  }
  return {
    occurred: rec.occurred as number,
    event,
    resource,
    related: (rec.related as RelatedRecord[]).map(relatedFromAvro),
    payload,
    id: rec.id as string,
  }
}
