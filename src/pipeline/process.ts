/**
 * One lifecycle message through validate → derive → limits → lineage, the step every front end
 * (the offline `derive`, the Kafka processor, replay) shares. A rejected message changes nothing.
 */
import { checkLimits } from '../derive/limits.js'
import { derive, type DeriveOptions } from '../derive/derive.js'
import type { LifecycleMessage, PrefectEvent } from '../derive/types.js'
import { validateMessage, type Rejection } from '../derive/validate.js'
import type { LineageStore } from '../state/memory-lineage-store.js'

export type Outcome =
  | {
      readonly ok: true
      readonly message: LifecycleMessage
      readonly events: readonly PrefectEvent[]
      readonly unknownUpstreams: number
    }
  | { readonly ok: false; readonly rejection: Rejection }

export function processValue(value: unknown, store: LineageStore, options: DeriveOptions): Outcome {
  const v = validateMessage(value)
  if (!v.ok) return v
  const d = derive(v.message, store, options)
  const rejection = checkLimits(d.events)
  if (rejection !== undefined) return { ok: false, rejection }
  if (d.lineage !== undefined) store.apply(d.lineage)
  return { ok: true, message: v.message, events: d.events, unknownUpstreams: d.unknownUpstreams }
}
