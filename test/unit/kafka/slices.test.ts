import { describe, expect, it } from 'vitest'
import { MERGE_BYTES, slices } from '../../../src/kafka/delivery.js'
import type { OutputRecord } from '../../../src/pipeline/batch.js'

const record = (i: number, valueBytes: number): OutputRecord => ({
  topic: 't',
  key: `k${i}`,
  value: Buffer.alloc(valueBytes, 1),
  headers: { 'assetstream.event.id': `id-${i}` },
})

describe('slices: produce requests stay under the broker message.max.bytes', () => {
  it('cuts a large batch into consecutive slices of at most MERGE_BYTES, in order', () => {
    const records = Array.from({ length: 3_000 }, (_, i) => record(i, 900))
    const out = slices(records).map((s) => s.records)
    expect(out.length).toBeGreaterThan(4)
    expect(out.flat()).toEqual(records)
    for (const s of out) {
      const bytes = s.reduce((n, r) => n + (r.value as Buffer).length, 0)
      expect(bytes).toBeLessThanOrEqual(MERGE_BYTES)
    }
  })

  it('sends a small batch as it is, and a record larger than the bound alone', () => {
    const small = [record(0, 10), record(1, 10)]
    expect(slices(small).map((s) => s.records)).toEqual([small])
    const big = [record(0, 10), record(1, MERGE_BYTES + 1), record(2, 10)]
    expect(slices(big).map((s) => s.records.length)).toEqual([1, 1, 1])
    expect(slices([])).toEqual([])
  })
})
