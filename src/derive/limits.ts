/** Prefect's event size limits, checked on the events actually derived (SPEC §1). */
import { toJsonForm } from './json-form.js'
import type { Labels, PrefectEvent } from './types.js'
import type { Rejection } from './validate.js'

export const MAX_RELATED_RESOURCES = 100
export const MAX_RESOURCE_LABELS = 500
export const MAX_EVENT_BYTES = 1_500_000

/**
 * Compact UTF-8 JSON size of the event's JSON form, when over the limit. A cheap upper bound
 * comes first (each UTF-16 unit of a label is at most 6 bytes escaped, the payload's JSON at most
 * 3 bytes a unit; `chars` is the sum of `labelChars` over its resources); the exact size is
 * computed only when the bound reaches the limit.
 */
function jsonBytesOverLimit(e: PrefectEvent, chars: number): number | undefined {
  const payloadJson = JSON.stringify(e.payload)
  const bound = 6 * chars + 3 * payloadJson.length + 6 * (e.event.length + e.id.length) + 200
  if (bound <= MAX_EVENT_BYTES) return undefined
  const bytes = Buffer.byteLength(JSON.stringify(toJsonForm(e)), 'utf8')
  return bytes > MAX_EVENT_BYTES ? bytes : undefined
}

function rejection(i: number, e: PrefectEvent, message: string): Rejection {
  const what = `event ${i} (${e.event} of ${JSON.stringify(e.resource['prefect.resource.id'])})`
  return { code: 'event_limit_exceeded', path: '$', message: `${what} ${message}` }
}

/**
 * The UTF-16 length of a resource's labels, plus 6 for each (the base of the JSON size bound), or
 * -1 when the resource has too many labels.
 */
function labelChars(labels: Labels): number {
  let n = 0
  let chars = 0
  for (const k in labels) {
    n++
    chars += k.length + (labels[k] as string).length + 6
  }
  // for-in also sees inherited keys: the count that matters is that of the own ones.
  return n > MAX_RESOURCE_LABELS && Object.keys(labels).length > MAX_RESOURCE_LABELS ? -1 : chars
}

export function checkLimits(events: readonly PrefectEvent[]): Rejection | undefined {
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as PrefectEvent
    const related = e.related
    if (related.length > MAX_RELATED_RESOURCES) {
      return rejection(
        i,
        e,
        `would have ${related.length} related resources; Prefect accepts at most ${MAX_RELATED_RESOURCES}`,
      )
    }
    let chars = 0
    for (let j = -1; j < related.length; j++) {
      const labels = j < 0 ? e.resource : (related[j] as Labels)
      const c = labelChars(labels)
      chars += c
      if (c < 0) {
        return rejection(
          i,
          e,
          `would have ${Object.keys(labels).length} labels on resource ${JSON.stringify(labels['prefect.resource.id'])}; Prefect accepts at most ${MAX_RESOURCE_LABELS}`,
        )
      }
    }
    const bytes = jsonBytesOverLimit(e, chars)
    if (bytes !== undefined)
      return rejection(
        i,
        e,
        `would be ${bytes} bytes as JSON; Prefect accepts at most ${MAX_EVENT_BYTES}`,
      )
  }
  return undefined
}
