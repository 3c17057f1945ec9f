/** What `derive` gives for an input, in-process: the reference the Kafka tests compare with. */
import { toJsonForm, type JsonFormEvent } from '../../src/derive/json-form.js'
import { processValue } from '../../src/pipeline/process.js'
import { MemoryLineageStore } from '../../src/state/memory-lineage-store.js'

export function deriveAll(
  values: readonly unknown[],
  runContext = true,
): { events: JsonFormEvent[]; rejected: number } {
  const store = new MemoryLineageStore()
  const events: JsonFormEvent[] = []
  let rejected = 0
  for (const v of values) {
    const o = processValue(JSON.parse(JSON.stringify(v)), store, { runContext })
    if (o.ok) events.push(...o.events.map(toJsonForm))
    else rejected++
  }
  return { events, rejected }
}
