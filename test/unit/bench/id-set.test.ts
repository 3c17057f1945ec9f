/** The soak's set of event ids (64-bit fingerprints, open addressing, growing). */
import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { IdSet } from '../../../src/bench/kafka/support.js'

describe('IdSet', () => {
  it('holds what was added, through its growth, and nothing else', () => {
    const set = new IdSet()
    const added = Array.from({ length: 200_000 }, () => randomUUID())
    expect(added.filter((id) => !set.add(id))).toEqual([])
    expect(set.size).toBe(added.length)
    expect(added.every((id) => set.has(id))).toBe(true)
    const others = Array.from({ length: 50_000 }, () => randomUUID())
    expect(others.filter((id) => set.has(id))).toEqual([])
  })

  it('counts a duplicate once', () => {
    const set = new IdSet()
    const id = randomUUID()
    expect(set.add(id)).toBe(true)
    expect(set.add(id)).toBe(false)
    expect(set.size).toBe(1)
  })
})
