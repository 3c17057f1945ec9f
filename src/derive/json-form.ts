/** The JSON form of an event (SPEC §2.5): used by `derive`, `tail`, logs and the limit check. */
import { formatMicros } from './time.js'
import type { EventName, JsonObject, Labels, PrefectEvent } from './types.js'

export interface JsonFormEvent {
  readonly occurred: string
  readonly event: EventName
  readonly resource: Labels
  readonly related: readonly Labels[]
  readonly payload: JsonObject
  readonly id: string
  readonly follows: null
}

/** The fields in the order SPEC §2.5 prints them. */
export const toJsonForm = (e: PrefectEvent): JsonFormEvent => ({
  occurred: formatMicros(e.occurred),
  event: e.event,
  resource: e.resource,
  related: e.related,
  payload: e.payload,
  id: e.id,
  follows: null,
})
