/**
 * The Avro contract: the `.avsc` files in `avro/`, one per event type plus the lifecycle message.
 * The only module that imports avsc (CommonJS: default-imported once, types imported as types).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import avsc from 'avsc'
import type { Schema, Type } from 'avsc'
import { EVENT_NAMES, type EventName } from '../derive/types.js'

/** `avro/` beside `src/` and `dist/`. */
export const AVRO_DIR = fileURLToPath(new URL('../../avro/', import.meta.url))

export const LIFECYCLE_SCHEMA_FILE = 'task-run-lifecycle.avsc'

export interface AvroSchema {
  /** The schema as written in its file, the text registered with the schema registry. */
  readonly text: string
  readonly type: Type
}

export const parseSchema = (text: string): AvroSchema => ({
  text,
  type: avsc.Type.forSchema(JSON.parse(text) as Schema),
})

export function loadSchema(file: string, dir: string = AVRO_DIR): AvroSchema {
  // Registered compact, so the registry's copy and ours hash alike.
  return parseSchema(JSON.stringify(JSON.parse(readFileSync(join(dir, file), 'utf8'))))
}

export const eventSchemaFile = (event: EventName): string => `${event}.avsc`

export function loadEventSchemas(dir: string = AVRO_DIR): ReadonlyMap<EventName, AvroSchema> {
  return new Map(EVENT_NAMES.map((e) => [e, loadSchema(eventSchemaFile(e), dir)]))
}
