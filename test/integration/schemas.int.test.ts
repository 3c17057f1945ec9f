/**
 * `assetstream schemas register|check` against the real registry (Apicurio, ccompat v7): register
 * prints the ids the registry holds; check says new / compatible / incompatible without
 * registering anything, and flags a subject whose compatibility level is not BACKWARD.
 */
import { afterAll, describe, expect, it } from 'vitest'
import registryPkg from '@kafkajs/confluent-schema-registry'
import { valueSubject } from '../../src/codec/registry.js'
import { EVENT_NAMES } from '../../src/derive/types.js'
import { cli, lines, runEnv } from './cli.js'
import { names, REGISTRY_URL } from './support.js'

const { SchemaRegistry, SchemaType, COMPATIBILITY } = registryPkg
const client = new SchemaRegistry({ host: REGISTRY_URL })

const subjects: string[] = []
const subjectsOf = (prefix: string) => EVENT_NAMES.map((e) => valueSubject(`${prefix}${e}`))

afterAll(async () => {
  // Soft then hard delete, so the registry does not keep the test subjects.
  for (const s of subjects) {
    for (const q of ['', '?permanent=true'])
      await fetch(`${REGISTRY_URL}/subjects/${encodeURIComponent(s)}${q}`, {
        method: 'DELETE',
      }).catch(() => undefined)
  }
})

/** Table rows as cells, keyed by their first cell. */
const table = (stdout: string) =>
  new Map(
    lines(stdout)
      .slice(1)
      .map((l) => l.split(/\s{2,}/))
      .map((cells) => [cells[0] ?? '', cells.slice(1)]),
  )

async function versions(subject: string): Promise<number[]> {
  const res = await fetch(`${REGISTRY_URL}/subjects/${encodeURIComponent(subject)}/versions`)
  if (res.status === 404) return []
  return (await res.json()) as number[]
}

describe('assetstream schemas', () => {
  it('check before anything is registered: all new, exit 0, nothing registered', async () => {
    const n = names('schemas-new')
    subjects.push(...subjectsOf(n.prefix))
    const r = await cli(['schemas', 'check'], runEnv(n))
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const rows = table(r.stdout)
    expect([...rows.keys()]).toEqual(subjectsOf(n.prefix))
    for (const cells of rows.values()) expect(cells).toEqual(['new', '-', '-'])
    for (const s of subjectsOf(n.prefix)) expect(await versions(s)).toEqual([])
  })

  it('register prints the ids the registry holds; check then says compatible, exit 0', async () => {
    const n = names('schemas-reg')
    subjects.push(...subjectsOf(n.prefix))
    const r = await cli(['schemas', 'register'], runEnv(n))
    expect(r.status).toBe(0)
    const rows = table(r.stdout)
    expect([...rows.keys()]).toEqual(subjectsOf(n.prefix))
    for (const [subject, [id]] of rows) {
      expect(Number(id)).toBe(await client.getLatestSchemaId(subject))
    }
    // Registering again keeps the ids.
    const again = await cli(['schemas', 'register'], runEnv(n))
    expect(again.status).toBe(0)
    expect(again.stdout).toBe(r.stdout)

    const c = await cli(['schemas', 'check'], runEnv(n))
    expect(c.stderr).toBe('')
    expect(c.status).toBe(0)
    for (const [subject, cells] of table(c.stdout)) {
      expect(cells).toEqual(['compatible', 'BACKWARD', `v1 (id ${rows.get(subject)?.[0]})`])
      expect(await versions(subject)).toEqual([1])
    }
  })

  it('check names a subject whose latest version our schema cannot follow, exit 1, registers nothing', async () => {
    const n = names('schemas-bad')
    subjects.push(...subjectsOf(n.prefix))
    const subject = valueSubject(`${n.prefix}prefect.asset.referenced`)
    // An older version our schema cannot read under BACKWARD rules (a required field of another type).
    const old = {
      type: 'record',
      name: 'AssetReferenced',
      namespace: 'io.assetstream.events',
      fields: [{ name: 'occurred', type: 'string' }],
    }
    const { id } = await client.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(old) },
      { subject, compatibility: COMPATIBILITY.BACKWARD },
    )
    const r = await cli(['schemas', 'check'], runEnv(n))
    expect(r.status).toBe(1)
    const rows = table(r.stdout)
    expect(rows.get(subject)).toEqual(['incompatible', 'BACKWARD', `v1 (id ${id})`])
    for (const s of subjectsOf(n.prefix).filter((x) => x !== subject))
      expect(rows.get(s)).toEqual(['new', '-', '-'])
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^assetstream schemas check: ${subject.replace(/\./g, '\\.')}: the local schema of prefect\\.asset\\.referenced is incompatible with version 1 \\(id ${id}\\)`,
        ),
      ),
    ])
    expect(await versions(subject)).toEqual([1])
    for (const s of subjectsOf(n.prefix).filter((x) => x !== subject))
      expect(await versions(s)).toEqual([])

    // register refuses it too: exit 1, schema_incompatible, naming the subject.
    const reg = await cli(['schemas', 'register'], runEnv(n))
    expect(reg.status).toBe(1)
    expect(reg.stderr).toContain('[schema_incompatible]')
    expect(reg.stderr).toContain(subject)
  })

  it('check flags a subject set to another compatibility level (register would be refused), exit 1', async () => {
    const n = names('schemas-level')
    subjects.push(...subjectsOf(n.prefix))
    const reg = await cli(['schemas', 'register'], runEnv(n))
    expect(reg.status).toBe(0)
    const subject = valueSubject(`${n.prefix}prefect.artifact.created`)
    const res = await fetch(`${REGISTRY_URL}/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: 'NONE' }),
    })
    expect(res.status).toBe(200)
    const r = await cli(['schemas', 'check'], runEnv(n))
    expect(r.status).toBe(1)
    expect(table(r.stdout).get(subject)?.slice(0, 2)).toEqual(['compatible', 'NONE'])
    expect(r.stderr).toContain(`${subject}: compatibility level NONE, not BACKWARD`)
    const again = await cli(['schemas', 'register'], runEnv(n))
    expect(again.status).toBe(1)
    expect(again.stderr).toContain('[schema_incompatible]')
  })

  it('an unreachable registry: registry_unavailable, exit 1', async () => {
    const n = names('schemas-down')
    const env = { ...runEnv(n), ASSETSTREAM_REGISTRY_URL: 'http://127.0.0.1:9/apis/ccompat/v7' }
    for (const action of ['check', 'register']) {
      const r = await cli(['schemas', action], env)
      expect(r.status).toBe(1)
      expect(r.stderr).toContain('[registry_unavailable]')
    }
  })
})
