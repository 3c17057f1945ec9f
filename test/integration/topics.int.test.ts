/** `assetstream topics create|verify` against the real broker: exit codes, the table, every problem. */
import { describe, expect, it } from 'vitest'
import { ConfigResourceTypes } from '../../src/kafka/kafkajs.js'
import { cli, lines, runEnv } from './cli.js'
import { namesDeletedAfterAll, names, withAdmin, type Names } from './support.js'

const testNames = namesDeletedAfterAll()

const changelogOf = (n: Names) => `${n.group}-lineage-changelog`
const allTopics = (n: Names) => [n.input, ...n.eventTopics, n.dlq, changelogOf(n)]

async function describeTopics(topics: readonly string[]) {
  return withAdmin(async (admin) => {
    const { topics: meta } = await admin.fetchTopicMetadata({ topics: [...topics] })
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['cleanup.policy', 'retention.ms'],
      })),
    })
    const config = (name: string, key: string) =>
      resources
        .find((r) => r.resourceName === name)
        ?.configEntries.find((c) => c.configName === key)?.configValue
    return new Map(
      meta.map((t) => [
        t.name,
        {
          partitions: t.partitions.length,
          cleanup: config(t.name, 'cleanup.policy'),
          retention: config(t.name, 'retention.ms'),
        },
      ]),
    )
  })
}

/** The table's row of a topic: its cells. */
const row = (stdout: string, topic: string) =>
  lines(stdout)
    .find((l) => l.startsWith(`${topic} `))
    ?.split(/\s{2,}/)

describe('assetstream topics', () => {
  it('verify on nothing: every topic missing, exit 1', async () => {
    const n = names('topics-none')
    const r = await cli(['topics', 'verify'], runEnv(n))
    expect(r.status).toBe(1)
    for (const t of allTopics(n)) {
      expect(row(r.stdout, t)?.at(-1)).toBe('missing')
      expect(r.stderr).toContain(`topic ${t} does not exist`)
    }
    expect(r.stderr).toContain('8 problems')
  })

  it('create makes every topic (input partitions, retention, compacted changelog); verify is happy', async () => {
    const n = testNames('topics-create')
    const env = { ...runEnv(n), ASSETSTREAM_TOPIC_PARTITIONS: '2' }
    const r = await cli(
      ['topics', 'create', '--input-partitions', '3', '--retention-ms', '3600000'],
      env,
    )
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    for (const t of allTopics(n)) expect(row(r.stdout, t)?.at(-1)).toBe('created')

    const seen = await describeTopics(allTopics(n))
    expect(seen.get(n.input)).toMatchObject({ partitions: 3, cleanup: 'delete' })
    for (const t of n.eventTopics)
      expect(seen.get(t)).toEqual({ partitions: 2, cleanup: 'delete', retention: '3600000' })
    expect(seen.get(n.dlq)).toMatchObject({ partitions: 2, cleanup: 'delete' })
    expect(seen.get(n.dlq)?.retention).not.toBe('3600000')
    expect(seen.get(changelogOf(n))).toMatchObject({ partitions: 3, cleanup: 'compact' })

    const v = await cli(['topics', 'verify'], env)
    expect(v.status).toBe(0)
    expect(v.stderr).toBe('')
    expect(row(v.stdout, changelogOf(n))).toEqual([
      changelogOf(n),
      'changelog',
      '3',
      '1',
      'compact',
      expect.any(String),
      'ok',
    ])
    for (const t of allTopics(n)) expect(row(v.stdout, t)?.at(-1)).toBe('ok')

    // Again: nothing to create, everything ok.
    const again = await cli(['topics', 'create'], env)
    expect(again.status).toBe(0)
    for (const t of allTopics(n)) expect(row(again.stdout, t)?.at(-1)).toBe('ok')
  })

  it('verify lists every problem: a small, uncompacted changelog and a compacted event topic, exit 1', async () => {
    const n = testNames('topics-bad')
    const env = runEnv(n)
    await withAdmin((admin) =>
      admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: n.input, numPartitions: 4, replicationFactor: 1 },
          { topic: changelogOf(n), numPartitions: 2, replicationFactor: 1 },
          {
            topic: `${n.prefix}prefect.asset.referenced`,
            numPartitions: 1,
            replicationFactor: 1,
            configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
          },
        ],
      }),
    )
    const v = await cli(['topics', 'verify'], env)
    expect(v.status).toBe(1)
    expect(row(v.stdout, changelogOf(n))?.at(-1)).toBe('too few partitions, not compacted')
    expect(row(v.stdout, `${n.prefix}prefect.asset.referenced`)?.at(-1)).toBe('compacted')
    expect(row(v.stdout, n.input)?.at(-1)).toBe('ok')
    expect(v.stderr).toContain(
      `the changelog topic ${changelogOf(n)} has 2 partitions, fewer than the 4 of the input topic ${n.input}`,
    )
    expect(v.stderr).toContain(`the changelog topic ${changelogOf(n)} has cleanup.policy=delete`)
    expect(v.stderr).toContain(
      `the event topic ${n.prefix}prefect.asset.referenced has cleanup.policy=compact`,
    )
    expect(v.stderr).toContain(`the dead-letter topic ${n.dlq} does not exist`)
    // 4 missing event topics, the DLQ, the changelog twice, the compacted event topic.
    expect(v.stderr).toContain('8 problems')

    // create adds what is missing, but does not fix existing topics: still exit 1.
    const c = await cli(['topics', 'create'], env)
    expect(c.status).toBe(1)
    expect(row(c.stdout, n.dlq)?.at(-1)).toBe('created')
    expect(row(c.stdout, `${n.prefix}prefect.asset.failed`)).toBeUndefined()
    expect(row(c.stdout, `${n.prefix}prefect.asset.materialization.failed`)?.at(-1)).toBe('created')
    expect(c.stderr).toContain('3 problems')
    const seen = await describeTopics([n.dlq, changelogOf(n)])
    expect(seen.get(changelogOf(n))).toMatchObject({ partitions: 2, cleanup: 'delete' })
    expect(seen.get(n.dlq)).toMatchObject({ partitions: 4 })
  })

  it('a replication factor the cluster cannot give: exit 2 naming the cause', async () => {
    const n = testNames('topics-rf')
    const r = await cli(['topics', 'create'], { ...runEnv(n), ASSETSTREAM_REPLICATION_FACTOR: '3' })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('[invalid_config] could not create topics (replication factor 3)')
    expect(r.stderr).toContain(n.dlq)
    expect(await withAdmin((admin) => admin.listTopics())).not.toContain(n.dlq)
  })
})
