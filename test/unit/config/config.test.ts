import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  DEFAULTS,
  defaultText,
  eventTopics,
  loadConfig,
  SETTINGS,
} from '../../../src/config/config.js'
import { AssetstreamError } from '../../../src/errors.js'

const problemsOf = (env: Record<string, string>, argv: string[] = []): string[] => {
  try {
    loadConfig(env, argv)
  } catch (e) {
    expect(e).toBeInstanceOf(AssetstreamError)
    expect((e as AssetstreamError).code).toBe('invalid_config')
    return [...((e as AssetstreamError).context.problems ?? [])]
  }
  return []
}

describe('loadConfig', () => {
  it('applies the defaults, derived topic names included, and freezes the result', () => {
    const { config } = loadConfig({}, [])
    expect(config).toMatchObject({
      ...DEFAULTS,
      dlqTopic: 'task-run-lifecycle.dlq',
      changelogTopic: 'assetstream-lineage-changelog',
    })
    expect(config.replicationFactor).toBeUndefined()
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('reads the environment, and flags override it', () => {
    const env = {
      ASSETSTREAM_BROKERS: 'a:1, b:2',
      ASSETSTREAM_GROUP_ID: 'g',
      ASSETSTREAM_RUN_CONTEXT: 'false',
      ASSETSTREAM_TOPIC_PARTITIONS: '8',
    }
    const { config } = loadConfig(env, [
      '--group-id',
      'h',
      '--run-context',
      '--guarantee=exactly-once',
    ])
    expect(config.brokers).toEqual(['a:1', 'b:2'])
    expect(config.groupId).toBe('h')
    expect(config.changelogTopic).toBe('h-lineage-changelog')
    expect(config.runContext).toBe(true)
    expect(config.topicPartitions).toBe(8)
    expect(config.guarantee).toBe('exactly-once')
    expect(loadConfig({}, ['--no-run-context']).config.runContext).toBe(false)
  })

  it('lists every problem at once', () => {
    const problems = problemsOf(
      {
        ASSETSTREAM_BROKERS: 'nohost',
        ASSETSTREAM_TOPIC_PARTITIONS: '0',
        ASSETSTREAM_REGISTRY_URL: 'ftp://x',
        ASSETSTREAM_GUARANTEE: 'maybe',
      },
      ['--log-level', 'loud', '--input-topic', 'bad topic!'],
    )
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'ASSETSTREAM_BROKERS',
      '--input-topic',
      'ASSETSTREAM_REGISTRY_URL',
      'ASSETSTREAM_GUARANTEE',
      'ASSETSTREAM_TOPIC_PARTITIONS',
      '--log-level',
    ])
  })

  it('refuses topics that collide', () => {
    expect(problemsOf({ ASSETSTREAM_DLQ_TOPIC: 'task-run-lifecycle' })).toEqual([
      'the dead-letter topic must differ from the input topic',
    ])
    expect(problemsOf({ ASSETSTREAM_INPUT_TOPIC: 'prefect.asset.referenced' })[0]).toContain(
      'is also an event topic',
    )
  })

  it('reports an unknown flag as a problem', () => {
    expect(problemsOf({}, ['--bogus'])[0]).toContain('bogus')
  })

  it('names the event topics with the prefix', () => {
    expect(eventTopics({ topicPrefix: 'x.' })).toContain('x.prefect.asset.materialization.failed')
  })
})

describe('the README configuration table', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
  it.each(SETTINGS.map((s) => [s.env, s] as const))(
    'documents %s with its flag and default',
    (env, s) => {
      const flag = 'boolean' in s ? `--[no-]${s.flag}` : `--${s.flag}`
      expect(readme).toContain(`| \`${env}\` | \`${flag}\` | \`${defaultText(s.key)}\` |`)
    },
  )
})
