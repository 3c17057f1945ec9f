/**
 * Poison messages on the real stack: each lands in the DLQ with its code and headers and the
 * original bytes, and the partition keeps flowing. Avro input through the registry. Reprocessing
 * the same input gives identical event ids.
 */
import { describe, expect, it } from 'vitest'
import { LIFECYCLE_SCHEMA_FILE, loadSchema } from '../../src/codec/avro-schemas.js'
import { lifecycleToAvro } from '../../src/codec/lifecycle-encode.js'
import { valueSubject } from '../../src/codec/registry.js'
import { frame } from '../../src/codec/wire.js'
import { HEADERS } from '../../src/pipeline/batch.js'
import registryPkg from '@kafkajs/confluent-schema-registry'
import { deriveAll } from './expected.js'
import {
  consumeUntil,
  createTopic,
  namesDeletedAfterAll,
  EventReader,
  header,
  ProcessorProcess,
  produce,
  REGISTRY_URL,
  type Names,
} from './support.js'

const testNames = namesDeletedAfterAll()

const FLOW = 'fr-poison'
const msg = (
  id: string,
  task: string,
  assets: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) => ({
  id,
  occurred: '2026-11-27T10:00:00.000001Z',
  flow_run: { id: FLOW, name: 'poison-run' },
  task_run: { id: task, name: task },
  state: { type: 'COMPLETED' },
  assets,
  ...extra,
})

describe('dead letters and Avro input', () => {
  it('routes poison to the DLQ with headers and keeps the partition flowing; decodes Avro input', async () => {
    const n = testNames('poison')
    await createTopic(n.input, 2)
    const lifecycle = loadSchema(LIFECYCLE_SCHEMA_FILE)
    const { SchemaRegistry, SchemaType } = registryPkg
    const registry = new SchemaRegistry({ host: REGISTRY_URL })
    const { id: schemaId } = await registry.register(
      { type: SchemaType.AVRO, schema: lifecycle.text },
      { subject: valueSubject(n.input) },
    )

    const first = msg('m1', 'extract', { materializes: ['s3://lake/raw'] })
    const avro = msg(
      'm3',
      'load',
      { materializes: ['s3://lake/out'], metadata: { 's3://lake/out': { rows: 7 } } },
      {
        task_run: {
          id: 'load',
          name: 'load',
          task_inputs: { df: [{ input_type: 'task_run', id: 'extract' }] },
        },
      },
    )
    const poison: { why: string; value: Buffer; code: string }[] = [
      { why: 'not JSON', value: Buffer.from('{"id": "m2", oops'), code: 'invalid_message' },
      {
        why: 'unknown schema id',
        value: frame(987_654, Buffer.from([2, 0x61])),
        code: 'invalid_message',
      },
      {
        why: 'bad asset key',
        value: Buffer.from(JSON.stringify(msg('m4', 't4', { materializes: ['S3://UPPER'] }))),
        code: 'invalid_asset_key',
      },
      { why: 'empty value', value: Buffer.alloc(0), code: 'invalid_message' },
    ]
    const values: Buffer[] = [
      Buffer.from(JSON.stringify(first)),
      poison[0]!.value,
      poison[1]!.value,
      frame(schemaId, lifecycle.type.toBuffer(lifecycleToAvro(avro))), // Avro input, after the poison
      poison[2]!.value,
      poison[3]!.value,
    ]
    const landed = await produce(
      n.input,
      values.map((value) => ({ key: FLOW, value })),
    )
    expect(new Set(landed.map((l) => l.partition)).size).toBe(1) // one flow run: one partition, in order

    const expected = deriveAll([first, avro]).events
    expect(expected.map((e) => e.event)).toEqual([
      'prefect.asset.materialization.succeeded',
      'prefect.asset.referenced',
      'prefect.asset.materialization.succeeded',
    ])
    const processor = new ProcessorProcess(n)
    try {
      await processor.started()
      const all = await consumeUntil(
        [...n.eventTopics, n.dlq],
        (got) =>
          got.filter((r) => r.topic === n.dlq).length >= poison.length &&
          got.length >= poison.length + expected.length,
      )
      const reader = new EventReader()
      const events = await Promise.all(
        all.filter((r) => r.topic !== n.dlq).map((r) => reader.decode(r, n.prefix)),
      )
      // The Avro message came after three poison messages and still inherited lineage from the first.
      expect(events.map((e) => JSON.stringify(e)).sort()).toEqual(
        expected.map((e) => JSON.stringify(e)).sort(),
      )

      const dead = all
        .filter((r) => r.topic === n.dlq)
        .sort(
          (a, b) =>
            Number(header(a.message, HEADERS.sourceOffset)) -
            Number(header(b.message, HEADERS.sourceOffset)),
        )
      expect(dead.map((d) => header(d.message, HEADERS.errorCode))).toEqual(
        poison.map((p) => p.code),
      )
      dead.forEach((d, i) => {
        const p = poison[i]!
        const at = landed[values.indexOf(p.value)]!
        expect(d.message.value ?? Buffer.alloc(0), p.why).toEqual(p.value)
        expect(d.message.key?.toString()).toBe(FLOW)
        expect(header(d.message, HEADERS.sourceTopic)).toBe(n.input)
        expect(header(d.message, HEADERS.sourcePartition)).toBe(String(at.partition))
        expect(header(d.message, HEADERS.sourceOffset)).toBe(at.offset)
        expect(header(d.message, HEADERS.errorMessage)?.length).toBeGreaterThan(5)
        expect(Number.isNaN(Date.parse(header(d.message, HEADERS.failedAt) ?? ''))).toBe(false)
      })
      expect(header(dead[2]!.message, HEADERS.errorPath)).toBe('$.assets.materializes[0]')
    } finally {
      expect(await processor.stop()).toBe(0)
    }
  })

  it('gives identical event ids when the same input is processed twice', async () => {
    const a = testNames('ids-a')
    const b = testNames('ids-b')
    await createTopic(a.input, 3)
    const { generateMessages } = await import('../../src/bench/workload.js')
    const input = generateMessages({ messages: 600, seed: 7 })
    await produce(
      a.input,
      input.map((m) => ({ key: m.key, value: JSON.stringify(m.value) })),
    )
    const expected = deriveAll(input.map((m) => m.value)).events
    expect(expected.length).toBeGreaterThan(150)

    const read = async (n: Names, input: string) => {
      const p = new ProcessorProcess(n, { ASSETSTREAM_INPUT_TOPIC: input })
      try {
        await p.started()
        const all = await consumeUntil(n.eventTopics, (got) => got.length >= expected.length)
        const reader = new EventReader()
        return Promise.all(all.map((r) => reader.decode(r, n.prefix)))
      } finally {
        expect(await p.stop()).toBe(0)
      }
    }
    // Second pass: same input topic, its own group and output topics.
    const first = await read(a, a.input)
    const second = await read(b, a.input)
    const ids = (events: { id: string }[]) => events.map((e) => e.id).sort()
    expect(ids(first)).toEqual(ids(expected))
    expect(ids(second)).toEqual(ids(first))
  })
})
