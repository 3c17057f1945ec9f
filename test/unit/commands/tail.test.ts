import { describe, expect, it } from 'vitest'
import {
  formatCompact,
  formatEvent,
  matchesResource,
  parseTailOptions,
  parseTimestamp,
} from '../../../src/commands/tail.js'
import type { JsonFormEvent } from '../../../src/derive/json-form.js'
import { EVENT_NAMES } from '../../../src/derive/types.js'
import { main } from '../../../src/main.js'
import { memoryIo } from './io.js'

const event: JsonFormEvent = {
  occurred: '2026-11-27T10:00:00.123456Z',
  event: 'prefect.asset.materialization.succeeded',
  resource: { 'prefect.resource.id': 's3://lake/out.parquet' },
  related: [
    { 'prefect.resource.id': 'postgres://db/src', 'prefect.resource.role': 'asset' },
    { 'prefect.resource.id': 's3://lake/b', 'prefect.resource.role': 'asset' },
    {
      'prefect.resource.id': 'prefect.flow-run.fr1',
      'prefect.resource.role': 'flow-run',
      'prefect.resource.name': 'amber-owl',
    },
  ],
  payload: {},
  id: '01a21c72-917b-7a20-9149-cf45a8fef001',
  follows: null,
}

describe('parseTimestamp', () => {
  it.each([
    ['2026-11-27T10:00:00Z', Date.UTC(2026, 10, 27, 10, 0, 0)],
    ['2026-11-27T10:00:00.123456Z', Date.UTC(2026, 10, 27, 10, 0, 0, 123)],
    ['2026-11-27t10:00:00z', Date.UTC(2026, 10, 27, 10, 0, 0)],
    ['2026-11-27 12:00:00+02:00', Date.UTC(2026, 10, 27, 10, 0, 0)],
    ['2026-11-27T05:30:00-04:30', Date.UTC(2026, 10, 27, 10, 0, 0)],
    ['2016-12-31T23:59:60Z', Date.UTC(2017, 0, 1, 0, 0, 0)],
  ])('%s', (text, ms) => {
    expect(parseTimestamp(text)).toBe(ms)
  })

  it.each([
    'yesterday',
    '2026-11-27',
    '2026-11-27T10:00:00', // no offset
    '2026-02-30T10:00:00Z',
    '2026-13-01T10:00:00Z',
    '2026-11-27T24:00:00Z',
    '2026-11-27T10:00:00+25:00',
  ])('rejects %s', (text) => {
    expect(parseTimestamp(text)).toBeUndefined()
  })
})

describe('parseTailOptions', () => {
  it('defaults: all events, from the beginning, json, no follow, no max', () => {
    expect(parseTailOptions({}, [])).toEqual({
      from: { kind: 'beginning' },
      events: [...EVENT_NAMES],
      resourcePrefixes: [],
      format: 'json',
      follow: false,
      max: undefined,
    })
  })

  it('reads every option; events keep the canonical order, prefixes are whole', () => {
    const o = parseTailOptions(
      {
        from: '2026-11-27T10:00:00Z',
        event: ['prefect.asset.referenced,prefect.artifact.created'],
        resource: ['s3://a,b'],
        'prefix-filter': ['pg://'],
        format: 'compact',
        follow: true,
        max: '7',
      },
      [],
    )
    expect(o).toEqual({
      from: { kind: 'timestamp', ms: Date.UTC(2026, 10, 27, 10), text: '2026-11-27T10:00:00Z' },
      events: ['prefect.artifact.created', 'prefect.asset.referenced'],
      resourcePrefixes: ['s3://a,b', 'pg://'],
      format: 'compact',
      follow: true,
      max: 7,
    })
    expect(parseTailOptions({ from: 'end' }, []).from).toEqual({ kind: 'end' })
  })

  it('lists every problem in one usage error', () => {
    let error: unknown
    try {
      parseTailOptions(
        { from: 'soon', event: ['prefect.nope'], format: 'xml', max: '0', resource: [''] },
        ['extra'],
      )
    } catch (e) {
      error = e
    }
    expect(error).toMatchObject({ code: 'usage' })
    const problems = (error as { context: { problems: string[] } }).context.problems
    expect(problems).toHaveLength(6)
    expect(problems.join('\n')).toMatch(/unexpected arguments: extra/)
    expect(problems.join('\n')).toMatch(/--from: .*"soon"/)
    expect(problems.join('\n')).toMatch(/--event: unknown event "prefect.nope"/)
    expect(problems.join('\n')).toMatch(/--format: .*"xml"/)
    expect(problems.join('\n')).toMatch(/--max: .*"0"/)
    expect(problems.join('\n')).toMatch(/--resource: the prefix must not be empty/)
  })
})

describe('formatting', () => {
  it('json is exactly what derive prints: JSON.stringify of the JSON form', () => {
    expect(formatEvent(event, 'json')).toBe(JSON.stringify(event))
  })

  it('compact: occurred, padded event, resource, related asset ids', () => {
    expect(formatCompact(event)).toBe(
      '2026-11-27T10:00:00.123456Z  prefect.asset.materialization.succeeded  s3://lake/out.parquet  <- postgres://db/src, s3://lake/b',
    )
    expect(formatCompact({ ...event, event: 'prefect.asset.referenced', related: [] })).toBe(
      '2026-11-27T10:00:00.123456Z  prefect.asset.referenced                 s3://lake/out.parquet',
    )
  })

  it('filters by resource id prefix (any of them)', () => {
    expect(matchesResource(event, [])).toBe(true)
    expect(matchesResource(event, ['gs://', 's3://lake/'])).toBe(true)
    expect(matchesResource(event, ['s3://other'])).toBe(false)
  })
})

describe('tail through main', () => {
  it('--help prints the help, exit 0, whatever the environment', async () => {
    const m = memoryIo({ ASSETSTREAM_BROKERS: 'bad' })
    expect(await main(['tail', '--help'], m.io)).toBe(0)
    expect(m.stdout).toContain('Usage: assetstream tail')
    expect(m.stdout).toContain('--from beginning|end|TIME')
    expect(m.stdout).toContain('ASSETSTREAM_REGISTRY_URL')
  })

  it('usage errors exit 2 before any connection', async () => {
    const m = memoryIo()
    expect(await main(['tail', '--from', 'soon'], m.io)).toBe(2)
    expect(m.stderr).toContain('[usage] --from')
    const n = memoryIo()
    expect(await main(['tail', '--bogus'], n.io)).toBe(2)
    expect(n.stderr).toContain('Usage: assetstream tail')
  })
})
