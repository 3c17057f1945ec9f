/**
 * The key partitioner of the processor's producers: the same partition as kafkajs's
 * `DefaultPartitioner` (and Java clients): `toPositive(murmur2(UTF-8 key bytes)) % partitions`, a
 * message's own `partition` first, round robin over available partitions for a null key.
 *
 * kafkajs computes murmur2 with 64-bit `Long` objects (three multiplications and several
 * allocations per four key bytes); here it is 32-bit integer arithmetic (`Math.imul`), and the hash
 * of each key is kept: event keys are resource ids, and asset ids recur in every run of a flow.
 * test/unit/kafka/partitioner.test.ts checks it against kafkajs's on generated keys.
 */
const SEED = 0x9747b28c
const M = 0x5bd1e995

/** Kafka's murmur2 (Java `Utils.murmur2`) of bytes, as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = (SEED ^ length) | 0
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    let k =
      (data[i4] as number) |
      ((data[i4 + 1] as number) << 8) |
      ((data[i4 + 2] as number) << 16) |
      ((data[i4 + 3] as number) << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  const tail = length & ~3
  const rest = length & 3
  if (rest === 3) h ^= (data[tail + 2] as number) << 16
  if (rest >= 2) h ^= (data[tail + 1] as number) << 8
  if (rest >= 1) {
    h ^= data[tail] as number
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** The UTF-8 bytes of an ASCII string, into `out` (length ≥ s.length); false if not ASCII. */
function asciiInto(s: string, out: Uint8Array): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c > 0x7f) return false
    out[i] = c
  }
  return true
}

const scratch = new Uint8Array(1024)

/** murmur2 of a key as kafkajs hashes it: a Buffer's bytes, else the UTF-8 bytes of `String(key)`. */
export function keyHash(key: Buffer | string): number {
  if (typeof key !== 'string') return murmur2(key)
  if (key.length <= scratch.length && asciiInto(key, scratch))
    return murmur2(scratch.subarray(0, key.length))
  return murmur2(Buffer.from(key, 'utf8'))
}

/** Distinct string keys whose hash is kept; the cache starts over when full. */
const CACHE_KEYS = 50_000

/** What kafkajs passes a partitioner (ICustomPartitioner's argument). */
interface PartitionerArgs {
  readonly topic: string
  readonly partitionMetadata: readonly { readonly partitionId: number; readonly leader: number }[]
  readonly message: {
    readonly key?: Buffer | string | null
    readonly partition?: number | null
  }
}

/** A `createPartitioner` for kafkajs producers: DefaultPartitioner's choices, faster. */
export const KeyHashPartitioner = () => {
  const cache = new Map<string, number>()
  const counters = new Map<string, number>()
  return ({ topic, partitionMetadata, message }: PartitionerArgs): number => {
    if (message.partition !== null && message.partition !== undefined) return message.partition
    const numPartitions = partitionMetadata.length
    const key = message.key
    if (key !== null && key !== undefined) {
      let h: number | undefined
      if (typeof key === 'string') {
        h = cache.get(key)
        if (h === undefined) {
          if (cache.size >= CACHE_KEYS) cache.clear()
          cache.set(key, (h = keyHash(key)))
        }
      } else {
        h = murmur2(key)
      }
      return (h & 0x7fffffff) % numPartitions
    }
    // No key: round robin over the partitions that have a leader (as kafkajs does).
    const available = partitionMetadata.filter((p) => p.leader >= 0)
    const n = ((counters.get(topic) ?? Math.floor(Math.random() * 2 ** 31)) + 1) & 0x7fffffff
    counters.set(topic, n)
    if (available.length > 0)
      return (available[n % available.length] as { partitionId: number }).partitionId
    return (partitionMetadata[n % numPartitions] as { partitionId: number }).partitionId
  }
}
