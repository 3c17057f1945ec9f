import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Partitioners } from '../../../src/kafka/kafkajs.js'
import { KeyHashPartitioner, keyHash, murmur2 } from '../../../src/kafka/partitioner.js'

const metadata = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    partitionErrorCode: 0,
    partitionId: i,
    leader: 1,
    replicas: [1],
    isr: [1],
  }))

describe('KeyHashPartitioner', () => {
  it('puts every key where kafkajs DefaultPartitioner (Java murmur2) does', () => {
    const ours = KeyHashPartitioner()
    const theirs = Partitioners.DefaultPartitioner()
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.string({ unit: 'grapheme', maxLength: 60 }),
          fc.string({ unit: 'binary', maxLength: 60 }),
          fc.uuid(),
        ),
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        (key, n, asBuffer) => {
          const partitionMetadata = metadata(n)
          const message = { key: asBuffer ? Buffer.from(key, 'utf8') : key, value: null }
          const args = { topic: 't', partitionMetadata, message }
          // twice: the second answer comes from the cache
          expect(ours(args)).toBe(theirs(args))
          expect(ours(args)).toBe(theirs(args))
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('matches known Java murmur2 values', () => {
    // org.apache.kafka.common.utils.Utils.murmur2 (Kafka's own test vectors)
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ]
    for (const [s, h] of cases) {
      expect(murmur2(Buffer.from(s))).toBe(h)
      expect(keyHash(s)).toBe(h)
    }
  })

  it('keeps an explicit partition and round-robins null keys over available partitions', () => {
    const p = KeyHashPartitioner()
    const partitionMetadata = metadata(4)
    expect(p({ topic: 't', partitionMetadata, message: { key: 'x', partition: 3 } })).toBe(3)
    const seen = new Set<number>()
    for (let i = 0; i < 8; i++)
      seen.add(p({ topic: 't', partitionMetadata, message: { key: null } }))
    expect([...seen].sort()).toEqual([0, 1, 2, 3])
    const oneUp = partitionMetadata.map((m) => ({ ...m, leader: m.partitionId === 2 ? 1 : -1 }))
    expect(p({ topic: 't', partitionMetadata: oneUp, message: { key: null } })).toBe(2)
  })
})
