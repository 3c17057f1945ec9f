/**
 * A lifecycle message in its JSON shape to the record of `task-run-lifecycle.avsc`, for producers
 * that write Avro (the demo, the tests, benchmarks). Open-ended JSON becomes JSON text; task inputs
 * other than task-run references keep only their input type (the processor ignores them).
 */
type Obj = Record<string, unknown>

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const text = (v: unknown): string | null =>
  v === undefined || v === null ? null : JSON.stringify(v)

export function lifecycleToAvro(msg: Obj): Obj {
  const out: Obj = { ...msg }
  const tr = msg.task_run
  if (isObject(tr) && isObject(tr.task_inputs)) {
    const inputs: Obj = {}
    for (const [k, v] of Object.entries(tr.task_inputs)) {
      inputs[k] = (v as Obj[]).map((e) => ({
        input_type: String(e.input_type),
        id: typeof e.id === 'string' ? e.id : null,
        name: typeof e.name === 'string' ? e.name : null,
      }))
    }
    out.task_run = { ...tr, task_inputs: inputs }
  }
  const assets = msg.assets
  if (isObject(assets) && isObject(assets.metadata)) {
    const md: Obj = {}
    for (const [k, v] of Object.entries(assets.metadata)) md[k] = JSON.stringify(v)
    out.assets = { ...assets, metadata: md }
  }
  if (Array.isArray(msg.artifacts)) {
    out.artifacts = (msg.artifacts as Obj[]).map((a) => ({
      ...a,
      data: text(a.data),
      changes: text(a.changes),
    }))
  }
  return out
}
