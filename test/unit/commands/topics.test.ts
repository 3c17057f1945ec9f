import { describe, expect, it } from 'vitest'
import {
  evaluateTopics,
  formatTopicsTable,
  parseTopicsOptions,
  processorTopics,
  type ObservedTopic,
} from '../../../src/commands/topics.js'
import { loadConfig } from '../../../src/config/config.js'
import { main } from '../../../src/main.js'
import { memoryIo } from './io.js'

const { config } = loadConfig({ ASSETSTREAM_TOPIC_PREFIX: 'p.', ASSETSTREAM_GROUP_ID: 'g' }, [])
const topic = (partitions: number, cleanupPolicy = 'delete'): ObservedTopic => ({
  partitions,
  replicationFactor: 1,
  cleanupPolicy,
  retentionMs: '604800000',
})

function healthy(): Map<string, ObservedTopic> {
  const m = new Map<string, ObservedTopic>()
  for (const t of processorTopics(config)) m.set(t.topic, topic(t.role === 'event' ? 2 : 4))
  m.set(config.changelogTopic, topic(4, 'compact'))
  return m
}

describe('processorTopics', () => {
  it('lists input, five event topics, dead letters and changelog', () => {
    expect(processorTopics(config).map((t) => `${t.role}:${t.topic}`)).toEqual([
      'input:task-run-lifecycle',
      'event:p.prefect.artifact.created',
      'event:p.prefect.artifact.updated',
      'event:p.prefect.asset.referenced',
      'event:p.prefect.asset.materialization.succeeded',
      'event:p.prefect.asset.materialization.failed',
      'dead-letter:task-run-lifecycle.dlq',
      'changelog:g-lineage-changelog',
    ])
  })
})

describe('evaluateTopics', () => {
  it('accepts a healthy set', () => {
    const { rows, problems } = evaluateTopics(config, healthy())
    expect(problems).toEqual([])
    expect(rows.map((r) => r.status)).toEqual(Array(8).fill('ok'))
  })

  it('accepts a changelog with more partitions than the input', () => {
    const m = healthy().set(config.changelogTopic, topic(8, 'compact'))
    expect(evaluateTopics(config, m).problems).toEqual([])
  })

  it('lists every problem: missing, too few changelog partitions, not compacted, compacted events', () => {
    const m = healthy()
    m.delete('p.prefect.asset.referenced')
    m.set(config.changelogTopic, topic(2, 'delete'))
    m.set('p.prefect.artifact.created', topic(2, 'compact,delete'))
    const { rows, problems } = evaluateTopics(config, m)
    expect(problems).toEqual([
      'the event topic p.prefect.artifact.created has cleanup.policy=compact,delete: compaction would drop older records of a key; needs delete',
      'the event topic p.prefect.asset.referenced does not exist',
      'the changelog topic g-lineage-changelog has 2 partitions, fewer than the 4 of the input topic task-run-lifecycle',
      'the changelog topic g-lineage-changelog has cleanup.policy=delete, needs compact (lineage state would be deleted)',
    ])
    expect(rows.find((r) => r.role === 'changelog')?.status).toBe(
      'too few partitions, not compacted',
    )
    expect(rows.find((r) => r.topic === 'p.prefect.asset.referenced')?.status).toBe('missing')
  })

  it('a changelog "compact,delete" is not enough', () => {
    const m = healthy().set(config.changelogTopic, topic(4, 'compact,delete'))
    expect(evaluateTopics(config, m).problems).toHaveLength(1)
  })

  it('prints a table, "created" for topics just created and fine', () => {
    const { rows } = evaluateTopics(config, healthy())
    const text = formatTopicsTable(rows, new Set([config.inputTopic]))
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toMatch(
      /^TOPIC\s+ROLE\s+PARTITIONS\s+REPLICAS\s+CLEANUP\s+RETENTION MS\s+STATUS$/,
    )
    expect(lines[1]).toMatch(/^task-run-lifecycle\s+input\s+4\s+1\s+delete\s+604800000\s+created$/)
    expect(lines[8]).toMatch(/^g-lineage-changelog\s+changelog\s+4\s+1\s+compact\s+604800000\s+ok$/)
  })
})

describe('parseTopicsOptions', () => {
  it('reads the subcommand and create options', () => {
    expect(
      parseTopicsOptions({ 'input-partitions': '6', 'retention-ms': '3600000' }, ['create']),
    ).toEqual({ action: 'create', inputPartitions: 6, retentionMs: '3600000' })
    expect(parseTopicsOptions({ 'retention-ms': '-1' }, ['create']).retentionMs).toBe('-1')
    expect(parseTopicsOptions({}, ['verify'])).toEqual({
      action: 'verify',
      inputPartitions: undefined,
      retentionMs: undefined,
    })
  })

  it.each([
    [[], {}, /expected a subcommand/],
    [['drop'], {}, /unknown subcommand "drop"/],
    [['verify', 'x'], {}, /unexpected arguments: x/],
    [['create'], { 'input-partitions': '0' }, /--input-partitions: expected an integer/],
    [['create'], { 'retention-ms': '1h' }, /--retention-ms: expected an integer/],
    [['verify'], { 'retention-ms': '5' }, /--retention-ms applies to create only/],
  ] as const)('usage error: %j %j', (positionals, values, message) => {
    expect(() => parseTopicsOptions(values, positionals)).toThrow(message)
  })
})

describe('topics through main', () => {
  it('--help, exit 0; a missing subcommand, exit 2', async () => {
    const m = memoryIo()
    expect(await main(['topics', '--help'], m.io)).toBe(0)
    expect(m.stdout).toContain('assetstream topics verify')
    const n = memoryIo()
    expect(await main(['topics'], n.io)).toBe(2)
    expect(n.stderr).toContain('[usage] expected a subcommand: create or verify')
  })
})
