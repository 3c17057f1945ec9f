/** Prefect's event size limits, checked on the events actually derived (SPEC §1). */
import { toJsonForm } from './json-form.js'
import type { Labels, PrefectEvent } from './types.js'
import type { Rejection } from './validate.js'

export const MAX_RELATED_RESOURCES = 100
export const MAX_RESOURCE_LABELS = 500
export const MAX_EVENT_BYTES = 1_500_000

/** The UTF-16 length of every label, an upper bound's base for the event's JSON size. */
function labelChars(labels: Labels): number {
  let n = 0
  for (const k in labels) n += k.length + (labels[k] as string).length + 6
  return n
}

/**
 * Compact UTF-8 JSON size of the event's JSON form. A cheap upper bound comes first (each UTF-16
 * unit is at most 6 bytes escaped, the payload's JSON at most 3 bytes a unit); the exact size is
 * computed only when the bound reaches the limit.
 */
function jsonBytesOverLimit(e: PrefectEvent): number | undefined {
  let chars = labelChars(e.resource)
  for (const r of e.related) chars += labelChars(r)
  const payloadJson = JSON.stringify(e.payload)
  const bound = 6 * chars + 3 * payloadJson.length + 6 * (e.event.length + e.id.length) + 200
  if (bound <= MAX_EVENT_BYTES) return undefined
  const bytes = Buffer.byteLength(JSON.stringify(toJsonForm(e)), 'utf8')
  return bytes > MAX_EVENT_BYTES ? bytes : undefined
}

export function checkLimits(events: readonly PrefectEvent[]): Rejection | undefined {
  for (const [i, e] of events.entries()) {
    const what = `event ${i} (${e.event} of ${JSON.stringify(e.resource['prefect.resource.id'])})`
    const fail = (message: string): Rejection => ({
      code: 'event_limit_exceeded',
      path: '$',
      message: `${what} ${message}`,
    })
    if (e.related.length > MAX_RELATED_RESOURCES) {
      return fail(
        `would have ${e.related.length} related resources; Prefect accepts at most ${MAX_RELATED_RESOURCES}`,
      )
    }
    for (const labels of [e.resource, ...e.related]) {
      const n = Object.keys(labels).length
      if (n > MAX_RESOURCE_LABELS) {
        return fail(
          `would have ${n} labels on resource ${JSON.stringify(labels['prefect.resource.id'])}; Prefect accepts at most ${MAX_RESOURCE_LABELS}`,
        )
      }
    }
    const bytes = jsonBytesOverLimit(e)
    if (bytes !== undefined)
      return fail(`would be ${bytes} bytes as JSON; Prefect accepts at most ${MAX_EVENT_BYTES}`)
  }
  return undefined
}
