/**
 * Events to Avro records of their `.avsc` and back. Invariant (SPEC §3): mapping an event to its
 * record and the decoded record back gives exactly the event's JSON form.
 */
import {
  EVENT_NAMES,
  type EventName,
  type JsonObject,
  type JsonValue,
  type Labels,
  type PrefectEvent,
} from '../derive/types.js'

const ID = 'prefect.resource.id'
const ROLE = 'prefect.resource.role'
const NAME = 'prefect.resource.name'

/** Asset resource labels and their Avro fields, in label order. */
const ASSET_FIELDS = [
  ['name', NAME],
  ['description', 'prefect.asset.description'],
  ['url', 'prefect.asset.url'],
  ['owners', 'prefect.asset.owners'],
] as const
const UPDATED_FIELDS = ['data', 'description', 'type', 'metadata_'] as const

interface RelatedRecord {
  id: string
  role: string
  name: string | null
  labels: Record<string, string>
}

function relatedToAvro(labels: Labels): RelatedRecord {
  const rest: Record<string, string> = {}
  for (const k in labels) if (k !== ID && k !== ROLE && k !== NAME) rest[k] = labels[k] as string
  return {
    id: labels[ID] as string,
    role: labels[ROLE] as string,
    name: labels[NAME] ?? null,
    labels: rest,
  }
}

function relatedFromAvro(r: RelatedRecord): Labels {
  const labels: Record<string, string> = { [ID]: r.id, [ROLE]: r.role }
  if (r.name !== null) labels[NAME] = r.name
  for (const k in r.labels) labels[k] = r.labels[k] as string
  return labels
}

const str = (v: JsonValue | undefined): string | null => (typeof v === 'string' ? v : null)
const isAsset = (e: EventName): boolean => e.startsWith('prefect.asset.')

/** The Avro record of an event, for the schema of its type. */
export function eventToAvro(e: PrefectEvent): Record<string, unknown> {
  const r = e.resource
  const rec: Record<string, unknown> = { occurred: e.occurred, event: e.event }
  if (isAsset(e.event)) {
    const res: Record<string, string | null> = { id: r[ID] as string }
    for (const [field, label] of ASSET_FIELDS) res[field] = r[label] ?? null
    rec.resource = res
  } else {
    rec.resource = { id: r[ID], name: r[NAME] ?? null }
  }
  rec.related = e.related.map(relatedToAvro)
  const p = e.payload
  switch (e.event) {
    case 'prefect.artifact.created':
      rec.payload = { key: str(p.key), type: str(p.type), description: str(p.description) }
      break
    case 'prefect.artifact.updated': {
      const payload: Record<string, string | null> = {}
      for (const k of UPDATED_FIELDS) payload[k] = Object.hasOwn(p, k) ? JSON.stringify(p[k]) : null
      rec.payload = payload
      break
    }
    case 'prefect.asset.referenced':
      break // payload is always {} and has no field
    case 'prefect.asset.materialization.succeeded':
    case 'prefect.asset.materialization.failed':
      rec.payload = JSON.stringify(p)
      break
  }
  rec.id = e.id
  rec.follows = null
  return rec
}

/** The event of a decoded Avro record (as avsc returns it for the schema of `event`). */
export function eventFromAvro(rec: Record<string, unknown>): PrefectEvent {
  const event = rec.event as EventName
  const res = rec.resource as Record<string, string | null>
  const resource: Record<string, string> = { [ID]: res.id as string }
  if (isAsset(event)) {
    for (const [field, label] of ASSET_FIELDS) {
      const v = res[field]
      if (v !== null && v !== undefined) resource[label] = v
    }
  } else if (res.name !== null && res.name !== undefined) {
    resource[NAME] = res.name
  }
  let payload: JsonObject
  switch (event) {
    case 'prefect.artifact.created': {
      const p = rec.payload as Record<string, string | null>
      payload = { key: p.key ?? null, type: p.type ?? null, description: p.description ?? null }
      break
    }
    case 'prefect.artifact.updated': {
      const p = rec.payload as Record<string, string | null>
      payload = {}
      for (const k of UPDATED_FIELDS) {
        const v = p[k]
        if (v !== null && v !== undefined) payload[k] = JSON.parse(v) as JsonValue
      }
      break
    }
    case 'prefect.asset.referenced':
      payload = {}
      break
    case 'prefect.asset.materialization.succeeded':
    case 'prefect.asset.materialization.failed':
      payload = JSON.parse(rec.payload as string) as JsonObject
      break
  }
  return {
    occurred: rec.occurred as number,
    event,
    resource,
    related: (rec.related as RelatedRecord[]).map(relatedFromAvro),
    payload,
    id: rec.id as string,
  }
}

// ---------------------------------------------------------------------------------------------
// The hot path: events written straight to Avro binary, without the record of `eventToAvro`.

/**
 * The schemas `writeEventAvro` writes, in avsc's canonical form (`JSON.stringify(type.schema())`:
 * no docs, defaults or logical types, which do not change the binary encoding). The encoder uses
 * the direct writer only for a registered schema whose canonical form is exactly this; any other
 * schema goes through avsc.
 */
export function directSchema(event: EventName): string {
  const ns = 'io.assetstream.events'
  const field = (name: string, type: string): string => `{"name":"${name}","type":${type}}`
  const record = (name: string, fields: readonly string[]): string =>
    `{"name":"${ns}.${name}","type":"record","fields":[${fields.join(',')}]}`
  const S = '"string"'
  const NS = '["null","string"]'
  const asset = isAsset(event)
  const resource = asset
    ? record('AssetResource', [field('id', S), ...ASSET_FIELDS.map(([name]) => field(name, NS))])
    : record('ArtifactResource', [field('id', S), field('name', NS)])
  const related = `{"type":"array","items":${record('RelatedResource', [
    field('id', S),
    field('role', S),
    field('name', NS),
    field('labels', '{"type":"map","values":"string"}'),
  ])}}`
  let payload: string | undefined
  let name: string
  switch (event) {
    case 'prefect.artifact.created':
      name = 'ArtifactCreated'
      payload = record(
        'ArtifactCreatedPayload',
        ['key', 'type', 'description'].map((f) => field(f, NS)),
      )
      break
    case 'prefect.artifact.updated':
      name = 'ArtifactUpdated'
      payload = record(
        'ArtifactUpdatedPayload',
        UPDATED_FIELDS.map((f) => field(f, NS)),
      )
      break
    case 'prefect.asset.referenced':
      name = 'AssetReferenced'
      break
    case 'prefect.asset.materialization.succeeded':
      name = 'AssetMaterializationSucceeded'
      payload = S
      break
    case 'prefect.asset.materialization.failed':
      name = 'AssetMaterializationFailed'
      payload = S
      break
  }
  return record(name, [
    field('occurred', '"long"'),
    field('event', S),
    field('resource', resource),
    field('related', related),
    ...(payload === undefined ? [] : [field('payload', payload)]),
    field('id', S),
    field('follows', NS),
  ])
}

interface Utf8Writable {
  /** Node's own UTF-8 write (what `Buffer#write` calls), a bound check and a call cheaper. */
  utf8Write?(s: string, offset: number, length?: number): number
}

const wellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)

/** Bytes of the zig-zag varint of a string or map length `n` (≥ 0). */
const lengthSize = (n: number): number =>
  n < 0x40 ? 1 : n < 0x2000 ? 2 : n < 0x100000 ? 3 : n < 0x8000000 ? 4 : 5

/**
 * A growable buffer written exactly as avsc 5.7's `Tap` writes: zig-zag varint longs, strings as
 * their length then UTF-8, and, as avsc does, a string of at most 64 bytes encoded by hand (a lone
 * surrogate as its own 3 bytes) and a longer one by the UTF-8 encoder (a lone surrogate as U+FFFD).
 */
export class AvroWriter {
  buf: Buffer
  pos = 0

  constructor(size = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(size)
  }

  /** Makes room for `n` more bytes, keeping what is written. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + n))
    this.buf.copy(bigger, 0, 0, this.pos)
    this.buf = bigger
  }

  /** A long (or int): zig-zag, then base-128 varint, least significant group first. */
  long(n: number): void {
    this.ensure(10)
    const buf = this.buf
    let pos = this.pos
    if (n >= -1073741824 && n < 1073741824) {
      let m = n >= 0 ? n << 1 : (~n << 1) | 1
      while (m > 0x7f) {
        buf[pos++] = (m & 0x7f) | 0x80
        m >>>= 7
      }
      buf[pos++] = m
    } else {
      let f = n >= 0 ? n * 2 : -n * 2 - 1
      while (f >= 128) {
        buf[pos++] = (f & 0x7f) | 0x80
        f /= 128
      }
      buf[pos++] = f & 0x7f
    }
    this.pos = pos
  }

  string(s: string): void {
    const n = s.length
    // Room for the longest encoding: 3 bytes a UTF-16 unit, and the length.
    this.ensure(3 * n + 10)
    const buf = this.buf
    const start = this.pos
    if (n < 16) {
      // Short: by hand while it is ASCII (then its byte length is n).
      let p = start + 1
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[p++] = c
      }
      if (i === n) {
        buf[start] = n << 1
        this.pos = p
        return
      }
    }
    if (!wellFormed(s)) {
      this.#illFormed(s)
      return
    }
    // Well-formed, the UTF-8 encoder writes what avsc's hand encoding does. The bytes go after
    // the length's varint, sized for the least byte length (n); moved in the rare case it is
    // longer.
    const head = lengthSize(n)
    const w = buf as Utf8Writable
    const len =
      w.utf8Write !== undefined ? w.utf8Write(s, start + head) : buf.write(s, start + head, 'utf8')
    const size = lengthSize(len)
    if (size !== head) buf.copyWithin(start + size, start + head, start + head + len)
    this.long(len)
    this.pos = start + size + len
  }

  /** A string with a lone surrogate, as avsc writes it. */
  #illFormed(s: string): void {
    const len = Buffer.byteLength(s)
    this.long(len)
    const buf = this.buf
    let pos = this.pos
    if (len > 64) {
      buf.write(s, pos, len, 'utf8')
      this.pos = pos + len
      return
    }
    const n = s.length
    for (let i = 0; i < n; i++) {
      let c1 = s.charCodeAt(i)
      let c2: number
      if (c1 < 0x80) {
        buf[pos++] = c1
      } else if (c1 < 0x800) {
        buf[pos++] = (c1 >> 6) | 0xc0
        buf[pos++] = (c1 & 0x3f) | 0x80
      } else if ((c1 & 0xfc00) === 0xd800 && ((c2 = s.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
        c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff)
        i++
        buf[pos++] = (c1 >> 18) | 0xf0
        buf[pos++] = ((c1 >> 12) & 0x3f) | 0x80
        buf[pos++] = ((c1 >> 6) & 0x3f) | 0x80
        buf[pos++] = (c1 & 0x3f) | 0x80
      } else {
        buf[pos++] = (c1 >> 12) | 0xe0
        buf[pos++] = ((c1 >> 6) & 0x3f) | 0x80
        buf[pos++] = (c1 & 0x3f) | 0x80
      }
    }
    this.pos = pos
  }

  /** A `["null", "string"]` union: branch 0 for null (and absent), branch 1 then the string. */
  nullableString(s: string | null | undefined): void {
    this.ensure(1)
    if (s === null || s === undefined) {
      this.buf[this.pos++] = 0
    } else {
      this.buf[this.pos++] = 2
      this.string(s)
    }
  }

  /** Bytes as they are (an encoding kept from before). */
  bytes(b: Uint8Array, start = 0, end = b.length): void {
    this.ensure(end - start)
    this.buf.set(start === 0 && end === b.length ? b : b.subarray(start, end), this.pos)
    this.pos += end - start
  }
}

/** Thrown by `writeEventAvro` on a value the schema cannot carry: avsc then says why. */
export class NotWritable extends Error {}

const strOrThrow = (v: unknown): string => {
  if (typeof v !== 'string') throw new NotWritable()
  return v
}
const nullableOrThrow = (v: unknown): string | null => {
  if (v === null || v === undefined) return null
  if (typeof v !== 'string') throw new NotWritable()
  return v
}

const isExtraLabel = (k: string): boolean =>
  k !== ID && k !== ROLE && k !== NAME && k !== '__proto__'

/** Writes one related resource: the bytes avsc writes for `relatedToAvro(labels)`. */
export function writeRelated(w: AvroWriter, labels: Labels): void {
  w.string(strOrThrow(labels[ID]))
  w.string(strOrThrow(labels[ROLE]))
  w.nullableString(nullableOrThrow(labels[NAME]))
  // The further labels in for-in order, as `relatedToAvro` copies them (`__proto__` cannot be
  // copied into its object literal, so it is left out here too).
  let extra = 0
  for (const k in labels) if (isExtraLabel(k)) extra++
  if (extra > 0) {
    w.long(extra)
    for (const k in labels) {
      if (isExtraLabel(k)) {
        w.string(k)
        w.string(strOrThrow(labels[k]))
      }
    }
  }
  w.long(0)
}

/** Writes the related array: its items in one block, then the empty block that ends it. */
export function writeRelatedList(w: AvroWriter, related: readonly Labels[]): void {
  if (related.length > 0) {
    w.long(related.length)
    for (const labels of related) writeRelated(w, labels)
  }
  w.long(0)
}

/** Each event name as an Avro string, written once. */
const EVENT_NAME_BYTES: ReadonlyMap<string, Buffer> = new Map(
  EVENT_NAMES.map((name) => {
    const w = new AvroWriter(64)
    w.string(name)
    return [name, w.buf.subarray(0, w.pos)]
  }),
)

/**
 * Writes an event's Avro record, for the schema `directSchema(e.event)`, at `w.pos`: the bytes
 * avsc writes for `eventToAvro(e)`. The related array goes through `relatedList`, which may write
 * bytes it kept from an earlier event. Throws `NotWritable` where avsc would refuse the record.
 */
export function writeEventAvro(
  w: AvroWriter,
  e: PrefectEvent,
  relatedList: (w: AvroWriter, related: readonly Labels[]) => void = writeRelatedList,
): void {
  const occurred = e.occurred
  if (
    typeof occurred !== 'number' ||
    occurred % 1 !== 0 ||
    !(occurred >= -9007199254740990 && occurred <= 9007199254740990)
  )
    throw new NotWritable()
  w.long(occurred)
  const name = EVENT_NAME_BYTES.get(e.event)
  if (name !== undefined) w.bytes(name)
  else w.string(strOrThrow(e.event))
  const r = e.resource
  w.string(strOrThrow(r[ID]))
  if (isAsset(e.event)) {
    w.nullableString(nullableOrThrow(r[NAME]))
    w.nullableString(nullableOrThrow(r['prefect.asset.description']))
    w.nullableString(nullableOrThrow(r['prefect.asset.url']))
    w.nullableString(nullableOrThrow(r['prefect.asset.owners']))
  } else {
    w.nullableString(nullableOrThrow(r[NAME]))
  }
  relatedList(w, e.related)
  const p = e.payload
  switch (e.event) {
    case 'prefect.artifact.created':
      w.nullableString(str(p.key))
      w.nullableString(str(p.type))
      w.nullableString(str(p.description))
      break
    case 'prefect.artifact.updated':
      for (const k of UPDATED_FIELDS) {
        w.nullableString(Object.hasOwn(p, k) ? strOrThrow(JSON.stringify(p[k])) : null)
      }
      break
    case 'prefect.asset.referenced':
      break
    case 'prefect.asset.materialization.succeeded':
    case 'prefect.asset.materialization.failed':
      w.string(JSON.stringify(p))
      break
  }
  w.string(strOrThrow(e.id))
  w.ensure(1)
  w.buf[w.pos++] = 0 // follows: null
}
