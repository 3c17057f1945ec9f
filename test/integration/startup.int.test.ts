/** Start-up failures and a clean stop, against the real stack. */
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import registryPkg from '@kafkajs/confluent-schema-registry'
import { valueSubject } from '../../src/codec/registry.js'
import { runEnv } from './cli.js'
import { deriveAll } from './expected.js'
import {
  consumeUntil,
  createTopic,
  namesDeletedAfterAll,
  names,
  ProcessorProcess,
  produce,
  REGISTRY_URL,
  withAdmin,
  type Names,
} from './support.js'

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname
const testNames = namesDeletedAfterAll()

function run(n: Names, env: Record<string, string>) {
  return spawnSync(process.execPath, [CLI, 'run'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      ...process.env,
      ...runEnv(n),
      ASSETSTREAM_STARTUP_TIMEOUT_MS: '4000',
      ...env,
    },
  })
}

describe('start-up errors', () => {
  it('names both an unreachable broker and an unreachable registry, exit 1', () => {
    const n = names('unreachable')
    const started = Date.now()
    const r = run(n, {
      ASSETSTREAM_BROKERS: '127.0.0.1:1',
      ASSETSTREAM_REGISTRY_URL: 'http://127.0.0.1:9/apis/ccompat/v7',
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('[broker_unavailable]')
    expect(r.stderr).toContain('127.0.0.1:1')
    expect(r.stderr).toContain('[registry_unavailable]')
    expect(Date.now() - started).toBeLessThan(30_000)
  })

  it('refuses a missing input topic, exit 2', () => {
    const n = testNames('no-input')
    const r = run(n, {})
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`the input topic ${n.input} does not exist`)
  })

  it('fails on a schema the registry refuses as incompatible, exit 1', async () => {
    const n = testNames('incompatible')
    await createTopic(n.input, 1)
    const { SchemaRegistry, SchemaType, COMPATIBILITY } = registryPkg
    const registry = new SchemaRegistry({ host: REGISTRY_URL })
    const subject = valueSubject(`${n.prefix}prefect.asset.referenced`)
    // An earlier version of the subject that our schema cannot read under BACKWARD rules.
    const old = {
      type: 'record',
      name: 'AssetReferenced',
      namespace: 'io.assetstream.events',
      fields: [{ name: 'occurred', type: 'string' }],
    }
    await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(old) },
      { subject, compatibility: COMPATIBILITY.BACKWARD },
    )
    const r = run(n, {})
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('[schema_incompatible]')
    expect(r.stderr).toContain(subject)
  })
})

describe('stopping', () => {
  it('drains and commits every processed offset on SIGTERM, exit 0', async () => {
    const n = testNames('sigterm')
    await createTopic(n.input, 2)
    const { generateMessages } = await import('../../src/bench/workload.js')
    const input = generateMessages({ messages: 400, seed: 3 })
    await produce(
      n.input,
      input.map((m) => ({ key: m.key, value: JSON.stringify(m.value) })),
    )
    const expected = deriveAll(input.map((m) => m.value)).events
    const p = new ProcessorProcess(n)
    await p.started()
    await consumeUntil(n.eventTopics, (got) => got.length >= expected.length)
    expect(await p.stop()).toBe(0)
    expect(p.logs).toContain('"processor stopped"')
    const [committed, ends] = await withAdmin(async (admin) => [
      (await admin.fetchOffsets({ groupId: n.group, topics: [n.input] }))[0]?.partitions
        .map((x) => [x.partition, x.offset])
        .sort(),
      (await admin.fetchTopicOffsets(n.input)).map((x) => [x.partition, x.high]).sort(),
    ])
    expect(committed).toEqual(ends)
  })
})
