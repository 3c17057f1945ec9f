/**
 * The schema registry adapter (Confluent REST API; Apicurio's ccompat API in tests). Registers the
 * event schemas under TopicNameStrategy subjects with BACKWARD compatibility, and resolves writer
 * schemas by id for decoding, cached. The only module importing the registry client.
 */
import registryPkg from '@kafkajs/confluent-schema-registry'
import type { Type } from 'avsc'
import { AssetstreamError } from '../errors.js'
import type { EventName } from '../derive/types.js'
import {
  LIFECYCLE_SCHEMA_FILE,
  loadEventSchemas,
  loadSchema,
  type AvroSchema,
} from './avro-schemas.js'
import type { RegisteredSchema } from './event-codec.js'
import type { LifecycleReader, WriterSchemas } from './lifecycle-decode.js'

const { SchemaRegistry, SchemaType, COMPATIBILITY } = registryPkg

type Client = InstanceType<typeof SchemaRegistry>

/** The subject of a topic's values under TopicNameStrategy. */
export const valueSubject = (topic: string): string => `${topic}-value`

/** Maps a registry client failure to one of our codes. */
export function registryError(e: unknown, what: string): AssetstreamError {
  const status = (e as { status?: number }).status
  const message = (e as Error).message ?? String(e)
  // Two instances registering a new subject at once. The client reads the subject's level, and
  // sets it after a first registration; racing, one instance reads the registry's global level
  // before the other has set the subject's ("BACKWARD != NONE"), or both set it and Apicurio
  // refuses the second ("A rule named 'COMPATIBILITY' already exists"). A retry reads BACKWARD.
  if (/BACKWARD != NONE|rule named 'COMPATIBILITY' already exists/.test(message)) {
    return new AssetstreamError('schema_incompatible', `${what}: ${message}`, {
      retriable: true,
      cause: e,
    })
  }
  if (
    status === 409 ||
    status === 422 ||
    (e as Error).name === 'ConfluentSchemaRegistryCompatibilityError'
  ) {
    return new AssetstreamError(
      'schema_incompatible',
      `${what}: the registry refused the schema: ${message}`,
      { cause: e },
    )
  }
  // The client reports a failed connection as HTTP 400 with the socket error as its message.
  if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|socket hang up/.test(message)) {
    return new AssetstreamError(
      'registry_unavailable',
      `${what}: the schema registry cannot be reached: ${message.replace(/^.*status 400: /, '')}`,
      {
        retriable: true,
        cause: e,
      },
    )
  }
  if (status === 404)
    return new AssetstreamError(
      'schema_not_found',
      `${what}: not found in the registry: ${message}`,
      { cause: e },
    )
  return new AssetstreamError(
    'registry_unavailable',
    `${what}: the schema registry cannot be reached or failed: ${message}`,
    {
      retriable: true,
      cause: e,
    },
  )
}

export class Registry implements WriterSchemas {
  readonly #client: Client
  readonly #lifecycle: AvroSchema = loadSchema(LIFECYCLE_SCHEMA_FILE)
  readonly #readers = new Map<number, Promise<LifecycleReader | undefined>>()
  readonly #types = new Map<number, Promise<Type>>()

  constructor(readonly url: string) {
    // Retries are ours (start-up deadline, processing back-off), so the client makes one attempt.
    this.#client = new SchemaRegistry({ host: url, clientId: 'assetstream', retry: { retries: 0 } })
  }

  /** Registers (or finds) the schema of each event type under `<topic>-value`, BACKWARD. */
  async registerEventSchemas(
    topicOf: (e: EventName) => string,
  ): Promise<Map<EventName, RegisteredSchema>> {
    const out = new Map<EventName, RegisteredSchema>()
    for (const [event, schema] of loadEventSchemas()) {
      const subject = valueSubject(topicOf(event))
      try {
        const { id } = await this.#client.register(
          { type: SchemaType.AVRO, schema: schema.text },
          { subject, compatibility: COMPATIBILITY.BACKWARD },
        )
        out.set(event, { ...schema, id })
      } catch (e) {
        throw registryError(e, `registering ${subject}`)
      }
    }
    return out
  }

  /** The writer schema of an id, as an avsc type. */
  async typeById(id: number): Promise<Type> {
    let p = this.#types.get(id)
    if (p === undefined) {
      p = this.#client.getSchema(id).then((s) => s as unknown as Type)
      this.#types.set(id, p)
      p.catch(() => this.#types.delete(id)) // a failure is not cached: the next call asks again
    }
    try {
      return await p
    } catch (e) {
      throw registryError(e, `schema id ${id}`)
    }
  }

  lifecycleReader(schemaId: number): Promise<LifecycleReader | undefined> {
    let p = this.#readers.get(schemaId)
    if (p === undefined) {
      p = this.#resolveLifecycle(schemaId)
      this.#readers.set(schemaId, p)
      p.catch(() => this.#readers.delete(schemaId))
    }
    return p
  }

  async #resolveLifecycle(schemaId: number): Promise<LifecycleReader | undefined> {
    let writer: Type
    try {
      writer = await this.typeById(schemaId)
    } catch (e) {
      if (e instanceof AssetstreamError && e.code === 'schema_not_found') return undefined
      throw e
    }
    const reader = this.#lifecycle.type
    try {
      return { type: reader, resolver: reader.createResolver(writer) }
    } catch {
      return undefined // a writer schema that cannot be read as a lifecycle message: the message is invalid
    }
  }
}
