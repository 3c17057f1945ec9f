import { describe, expect, it } from 'vitest'
import { decodeJson } from '../../src/codec/lifecycle-decode.js'
import { toJsonForm } from '../../src/derive/json-form.js'
import { processValue } from '../../src/pipeline/process.js'
import { MemoryLineageStore } from '../../src/state/memory-lineage-store.js'
import { loadCases, withoutSourceLine } from '../helpers/conformance.js'

const cases = loadCases()

describe('conformance cases through the processing step', () => {
  it('has the cases copied from the shared contract', () => {
    expect(cases.length).toBeGreaterThanOrEqual(13)
  })

  for (const c of cases) {
    it(c.name, () => {
      const store = new MemoryLineageStore()
      const events: unknown[] = []
      const rejected: { line: number; code: string }[] = []
      c.lines.forEach((line, i) => {
        if (line.trim() === '') return
        const decoded = decodeJson(line)
        const outcome = decoded.ok
          ? processValue(decoded.value, store, { runContext: true })
          : decoded
        if (outcome.ok) {
          for (const e of outcome.events) events.push({ ...toJsonForm(e), source_line: i + 1 })
        } else {
          rejected.push({ line: i + 1, code: outcome.rejection.code })
          expect(outcome.rejection.path).toMatch(/^\$/)
          expect(outcome.rejection.message.length).toBeGreaterThan(0)
        }
      })
      // Compare as JSON text: key order is part of the JSON form.
      expect(events.map((e) => JSON.stringify(e))).toEqual(c.expected.map((e) => JSON.stringify(e)))
      expect(rejected).toEqual(c.rejected)
    })
  }
})

describe('conformance expectations hold without the run context', () => {
  for (const c of cases) {
    it(`${c.name}: same events, related resources without run context`, () => {
      const store = new MemoryLineageStore()
      const got: Record<string, unknown>[] = []
      for (const line of c.lines) {
        if (line.trim() === '') continue
        const d = decodeJson(line)
        const o = d.ok ? processValue(d.value, store, { runContext: false }) : d
        if (o.ok) got.push(...o.events.map((e) => ({ ...toJsonForm(e) })))
      }
      const roles = new Set([
        'flow-run',
        'task-run',
        'flow',
        'deployment',
        'work-queue',
        'work-pool',
        'tag',
      ])
      const want = c.expected.map((e) => {
        const w = withoutSourceLine(e) as { related: Record<string, string>[] }
        return {
          ...w,
          related: w.related.filter((r) => !roles.has(r['prefect.resource.role'] as string)),
        }
      })
      expect(got).toEqual(want)
    })
  }
})
