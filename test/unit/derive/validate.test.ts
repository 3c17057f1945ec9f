import { describe, expect, it } from 'vitest'
import { validateMessage } from '../../../src/derive/validate.js'
import { materializing, message, type Json } from '../../helpers/messages.js'

const reject = (raw: unknown): { code: string; path: string; message: string } => {
  const v = validateMessage(raw)
  if (v.ok) throw new Error('expected a rejection')
  return v.rejection
}

const long = (n: number, ch = 'a'): string => ch.repeat(n)

describe('validateMessage: invalid_message', () => {
  const cases: [string, unknown, string][] = [
    ['an array', [], '$'],
    ['a string', 'hello', '$'],
    ['null', null, '$'],
    ['id missing', message({ id: undefined }), '$.id'],
    ['id null (null = missing)', message({ id: null }), '$.id'],
    ['id a number', message({ id: 7 }), '$.id'],
    ['occurred missing', message({ occurred: undefined }), '$.occurred'],
    ['occurred not a date-time', message({ occurred: 'yesterday' }), '$.occurred'],
    ['occurred without offset', message({ occurred: '2026-11-27T08:00:00' }), '$.occurred'],
    ['occurred with a space', message({ occurred: '2026-11-27 08:00:00Z' }), '$.occurred'],
    ['occurred on Feb 30', message({ occurred: '2026-02-30T08:00:00Z' }), '$.occurred'],
    ['occurred hour 24', message({ occurred: '2026-11-27T24:00:00Z' }), '$.occurred'],
    ['occurred offset 24:00', message({ occurred: '2026-11-27T08:00:00+24:00' }), '$.occurred'],
    [
      'occurred out of the exact range',
      message({ occurred: '9999-01-01T00:00:00Z' }),
      '$.occurred',
    ],
    ['flow_run not an object', message({ flow_run: 'fr' }), '$.flow_run'],
    ['flow_run without id', message({ flow_run: { name: 'x' } }), '$.flow_run.id'],
    [
      'flow_run.tags not strings',
      message({ flow_run: { id: 'f', tags: ['a', 1] } }),
      '$.flow_run.tags[1]',
    ],
    [
      'flow_run.deployment.id a number',
      message({ flow_run: { id: 'f', deployment: { id: 1 } } }),
      '$.flow_run.deployment.id',
    ],
    [
      'flow_run.work_pool.type a number',
      message({ flow_run: { id: 'f', work_pool: { id: 'p', type: 3 } } }),
      '$.flow_run.work_pool.type',
    ],
    ['task_run missing', message({ task_run: undefined }), '$.task_run'],
    ['task_run.id missing', message({ task_run: { name: 'x' } }), '$.task_run.id'],
    [
      'task_run.run_count not an integer',
      message({ task_run: { id: 't', run_count: 1.5 } }),
      '$.task_run.run_count',
    ],
    [
      'task_inputs entry not an array',
      message({ task_run: { id: 't', task_inputs: { df: { input_type: 'task_run', id: 'u' } } } }),
      '$.task_run.task_inputs.df',
    ],
    ['state missing', message({ state: undefined }), '$.state'],
    ['state.type missing', message({ state: { name: 'Completed' } }), '$.state.type'],
    ['unknown state type', message({ state: { type: 'DONE' } }), '$.state.type'],
    ['state type is case-sensitive', message({ state: { type: 'completed' } }), '$.state.type'],
    ['state.name a number', message({ state: { type: 'COMPLETED', name: 3 } }), '$.state.name'],
    ['assets an array', message({ assets: [] }), '$.assets'],
    [
      'materializes not an array',
      materializing({ materializes: 's3://x' }),
      '$.assets.materializes',
    ],
    ['asset ref a number', materializing({ materializes: [1] }), '$.assets.materializes[0]'],
    [
      'asset ref object without key',
      materializing({ asset_deps: [{ properties: null }] }),
      '$.assets.asset_deps[0].key',
    ],
    [
      'asset owners not strings',
      materializing({ upstream: [{ key: 's3://a', properties: { owners: [1] } }] }),
      '$.assets.upstream[0].properties.owners[0]',
    ],
    ['materialized_by a number', materializing({ materialized_by: 5 }), '$.assets.materialized_by'],
    [
      'metadata value not an object',
      materializing({ metadata: { 's3://lake/out': [1] } }),
      '$.assets.metadata["s3://lake/out"]',
    ],
    ['artifacts not an array', message({ artifacts: {} }), '$.artifacts'],
    [
      'unknown artifact op',
      message({ artifacts: [{ op: 'delete', id: 'a' }] }),
      '$.artifacts[0].op',
    ],
    ['artifact id empty', message({ artifacts: [{ op: 'create', id: '' }] }), '$.artifacts[0].id'],
    [
      'artifact update without changes',
      message({ artifacts: [{ op: 'update', id: 'a' }] }),
      '$.artifacts[0].changes',
    ],
    [
      'artifact occurred not a date-time',
      message({ artifacts: [{ op: 'create', id: 'a', occurred: 'now' }] }),
      '$.artifacts[0].occurred',
    ],
  ]
  it.each(cases)('%s', (_, raw, path) => {
    const r = reject(raw)
    expect(r.code).toBe('invalid_message')
    expect(r.path).toBe(path)
    expect(r.message).toContain(path === '$' ? 'JSON object' : path)
  })
})

describe('validateMessage: asset keys, descriptions and artifact keys', () => {
  const forbidden = [
    '\n',
    '\r',
    '\t',
    '\0',
    ' ',
    '#',
    '?',
    '&',
    '%',
    '"',
    "'",
    '<',
    '>',
    '[',
    ']',
    '{',
    '}',
    '|',
    '\\',
    '^',
    '`',
  ]
  it.each(forbidden)('rejects an asset key holding %j', (ch) => {
    const r = reject(materializing({ materializes: [`s3://bucket/a${ch}b`] }))
    expect(r).toMatchObject({ code: 'invalid_asset_key', path: '$.assets.materializes[0]' })
  })

  const keyCases: [string, Json, string][] = [
    ['uppercase scheme', { materializes: ['S3://upper'] }, '$.assets.materializes[0]'],
    ['no scheme', { materializes: ['bucket/path'] }, '$.assets.materializes[0]'],
    ['scheme without //', { materializes: ['s3:bucket'] }, '$.assets.materializes[0]'],
    ['in asset_deps', { asset_deps: ['s3://ok', 'bad key'] }, '$.assets.asset_deps[1]'],
    ['in upstream', { upstream: [{ key: 'nope' }] }, '$.assets.upstream[0]'],
    ['a metadata key', { metadata: { 'no scheme': {} } }, '$.assets.metadata["no scheme"]'],
    ['513 code points', { materializes: [`s3://${long(508)}`] }, '$.assets.materializes[0]'],
  ]
  it.each(keyCases)('rejects %s', (_, assets, path) => {
    expect(reject(materializing(assets))).toMatchObject({ code: 'invalid_asset_key', path })
  })

  it('counts code points, not UTF-16 units, in a key of 512 characters', () => {
    // 's3://' + 507 astral characters = 512 code points, 1019 UTF-16 units.
    const v = validateMessage(materializing({ materializes: [`s3://${'😀'.repeat(507)}`] }))
    expect(v.ok).toBe(true)
  })

  it('accepts a description of exactly 2500 code points and rejects 2501', () => {
    const ok = validateMessage(
      materializing({
        materializes: [{ key: 's3://a', properties: { description: long(2500, 'é') } }],
      }),
    )
    expect(ok.ok).toBe(true)
    const r = reject(
      materializing({ asset_deps: [{ key: 's3://a', properties: { description: long(2501) } }] }),
    )
    expect(r).toMatchObject({
      code: 'invalid_asset_description',
      path: '$.assets.asset_deps[0].properties.description',
    })
  })

  it.each([['Bad_Key'], ['UPPER'], ['with space'], ['dots.no']])(
    'rejects artifact key %j',
    (key) => {
      const r = reject(message({ artifacts: [{ op: 'create', id: 'a', key }] }))
      expect(r).toMatchObject({ code: 'invalid_artifact_key', path: '$.artifacts[0].key' })
    },
  )

  it.each([[''], ['report'], ['task-link-9f3a'], [null]])('accepts artifact key %j', (key) => {
    expect(validateMessage(message({ artifacts: [{ op: 'create', id: 'a', key }] })).ok).toBe(true)
  })
})

describe('validateMessage: the first code in SPEC order wins', () => {
  it('invalid_message beats an invalid asset key that comes first in the document', () => {
    const raw = { ...materializing({ materializes: ['BAD'] }), state: { type: 'NOPE' } }
    expect(reject(raw).code).toBe('invalid_message')
  })
  it('invalid_asset_key beats invalid_asset_description and invalid_artifact_key', () => {
    const raw = materializing(
      {
        materializes: [{ key: 's3://a', properties: { description: long(3000) } }],
        asset_deps: ['bad'],
      },
      { artifacts: [{ op: 'create', id: 'x', key: 'BAD' }] },
    )
    expect(reject(raw)).toMatchObject({ code: 'invalid_asset_key', path: '$.assets.asset_deps[0]' })
  })
  it('invalid_asset_description beats invalid_artifact_key', () => {
    const raw = materializing(
      { materializes: [{ key: 's3://a', properties: { description: long(3000) } }] },
      { artifacts: [{ op: 'create', id: 'x', key: 'BAD' }] },
    )
    expect(reject(raw).code).toBe('invalid_asset_description')
  })
})

describe('validateMessage: accepted shapes', () => {
  it('reads null in optional fields as absent, and ignores unknown fields', () => {
    const v = validateMessage(
      message({
        flow_run: null,
        assets: null,
        artifacts: null,
        extra: { anything: true },
        task_run: { id: 't', name: null, tags: null, task_inputs: null, run_count: null },
        state: { type: 'RUNNING', name: null },
      }),
    )
    expect(v.ok && v.message).toMatchObject({
      taskRun: { id: 't', tags: [] },
      state: { type: 'RUNNING', name: 'Running' },
      artifacts: [],
    })
    expect(v.ok && v.message.flowRun).toBeUndefined()
    expect(v.ok && v.message.assets).toBeUndefined()
  })

  it('defaults the state name to the usual name of its type', () => {
    const names = {
      SCHEDULED: 'Scheduled',
      PENDING: 'Pending',
      COMPLETED: 'Completed',
      FAILED: 'Failed',
      CANCELLED: 'Cancelled',
      CANCELLING: 'Cancelling',
      CRASHED: 'Crashed',
      PAUSED: 'Paused',
    }
    for (const [type, name] of Object.entries(names)) {
      const v = validateMessage(message({ state: { type } }))
      expect(v.ok && v.message.state).toEqual({ type, name })
    }
  })

  it('keeps only task-run references of task_inputs, in object order, parents included', () => {
    const v = validateMessage(
      message({
        task_run: {
          id: 't',
          task_inputs: {
            df: [
              { input_type: 'task_run', id: 'u1' },
              { input_type: 'parameter', name: 'x' },
              'junk',
              { input_type: 'task_run', id: 3 },
            ],
            limit: [{ input_type: 'constant', type: 'int' }],
            wait_for: [{ input_type: 'task_run', id: 'u2' }],
            __parents__: [{ input_type: 'task_run', id: 'p' }],
          },
        },
      }),
    )
    expect(v.ok && v.message.taskRun.taskInputs).toEqual([
      { parameter: 'df', taskRunId: 'u1' },
      { parameter: 'wait_for', taskRunId: 'u2' },
      { parameter: '__parents__', taskRunId: 'p' },
    ])
  })

  it('parses occurred with offsets and drops digits past the sixth', () => {
    const at = (occurred: string): number | undefined => {
      const v = validateMessage(message({ occurred }))
      return v.ok ? v.message.occurred : undefined
    }
    expect(at('2026-11-27T09:02:00+01:00')).toBe(at('2026-11-27T08:02:00Z'))
    expect(at('2026-11-27t08:02:00.1234569z')).toBe(at('2026-11-27T08:02:00.123456Z'))
    expect(at('2026-11-27T08:02:00-00:30')).toBe(at('2026-11-27T08:32:00Z'))
  })
})
