import { describe, expect, it } from 'vitest'
import { derive } from '../../../src/derive/derive.js'
import { toJsonForm } from '../../../src/derive/json-form.js'
import { compareCodePoints } from '../../../src/derive/run-context.js'
import type { LifecycleMessage, PrefectEvent } from '../../../src/derive/types.js'
import { validateMessage } from '../../../src/derive/validate.js'
import { MemoryLineageStore } from '../../../src/state/memory-lineage-store.js'
import { FLOW_RUN_ID, materializing, message, type Json } from '../../helpers/messages.js'

const valid = (raw: Json): LifecycleMessage => {
  const v = validateMessage(raw)
  if (!v.ok) throw new Error(`invalid test message: ${v.rejection.message}`)
  return v.message
}

const run = (raw: Json, store = new MemoryLineageStore(), runContext = false) => {
  const d = derive(valid(raw), store, { runContext })
  if (d.lineage) store.apply(d.lineage)
  return d
}

const names = (events: readonly PrefectEvent[]): string[] =>
  events.map((e) => `${e.event} ${e.resource['prefect.resource.id']}`)

describe('when asset events are emitted (SPEC §2.2)', () => {
  const cases: [Json, string | undefined][] = [
    [{ type: 'COMPLETED' }, 'succeeded'],
    [{ type: 'COMPLETED', name: 'Completed' }, 'succeeded'],
    [{ type: 'COMPLETED', name: 'Cached' }, undefined],
    [{ type: 'COMPLETED', name: 'cached' }, 'succeeded'],
    [{ type: 'FAILED' }, 'failed'],
    [{ type: 'FAILED', name: 'TimedOut' }, 'failed'],
    [{ type: 'RUNNING', name: 'Retrying' }, undefined],
    [{ type: 'RUNNING' }, undefined],
    [{ type: 'SCHEDULED', name: 'AwaitingRetry' }, undefined],
    [{ type: 'PENDING', name: 'NotReady' }, undefined],
    [{ type: 'CRASHED' }, undefined],
    [{ type: 'CANCELLED' }, undefined],
    [{ type: 'CANCELLING' }, undefined],
    [{ type: 'PAUSED' }, undefined],
  ]
  it.each(cases)('state %j → %s', (state, status) => {
    const d = run(materializing({ asset_deps: ['s3://in'] }, { state }))
    expect(names(d.events)).toEqual(
      status === undefined
        ? []
        : [
            'prefect.asset.referenced s3://in',
            `prefect.asset.materialization.${status} s3://lake/out`,
          ],
    )
  })

  it('emits nothing for a plain (reference-only) task, whatever its state', () => {
    expect(run(message({ assets: { materializes: [], asset_deps: ['s3://in'] } })).events).toEqual(
      [],
    )
  })
})

describe('artifact events (SPEC §2.1)', () => {
  it('maps create and update, in order, in any state, before asset events', () => {
    const d = run(
      materializing(
        {},
        {
          state: { type: 'RUNNING' },
          artifacts: [
            {
              op: 'create',
              id: 'a1',
              key: 'report',
              type: 'markdown',
              description: 'd',
              data: '# hi',
            },
            {
              op: 'update',
              id: 'a1',
              changes: { other: 1, metadata_: { k: 1 }, type: 't', data: 0.5, description: null },
            },
            { op: 'create', id: 'a2' },
          ],
        },
      ),
    )
    expect(d.events.map((e) => [e.event, e.resource, e.payload])).toEqual([
      [
        'prefect.artifact.created',
        { 'prefect.resource.id': 'prefect.artifact.a1', 'prefect.resource.name': 'report' },
        { key: 'report', type: 'markdown', description: 'd' },
      ],
      [
        'prefect.artifact.updated',
        { 'prefect.resource.id': 'prefect.artifact.a1' },
        { data: 0.5, description: null, type: 't', metadata_: { k: 1 } },
      ],
      [
        'prefect.artifact.created',
        { 'prefect.resource.id': 'prefect.artifact.a2' },
        { key: null, type: null, description: null },
      ],
    ])
    expect(Object.keys(d.events[1]?.payload ?? {})).toEqual([
      'data',
      'description',
      'type',
      'metadata_',
    ])
  })

  it('uses the artifact op time when given, else the message time', () => {
    const d = run(
      message({
        artifacts: [
          { op: 'create', id: 'a', occurred: '2026-11-27T09:00:00+01:00' },
          { op: 'update', id: 'a', changes: {} },
        ],
      }),
    )
    expect(d.events.map((e) => toJsonForm(e).occurred)).toEqual([
      '2026-11-27T08:00:00.000000Z',
      '2026-11-27T08:00:00.123456Z',
    ])
  })

  it('gives an empty key no resource name', () => {
    const d = run(message({ artifacts: [{ op: 'create', id: 'a', key: '' }] }))
    expect(d.events[0]?.resource).toEqual({ 'prefect.resource.id': 'prefect.artifact.a' })
    expect(d.events[0]?.payload).toEqual({ key: '', type: null, description: null })
  })
})

describe('upstream resolution and lineage (SPEC §2.3)', () => {
  const taskRun = (id: string, inputs?: Json) => ({
    id,
    name: id,
    ...(inputs ? { task_inputs: inputs } : {}),
  })
  const ref = (id: string) => [{ input_type: 'task_run', id }]

  it('inherits through plain tasks, one hop per materialization, never through parents', () => {
    const store = new MemoryLineageStore()
    run(materializing({ materializes: ['s3://a'] }, { task_run: taskRun('A') }), store)
    run(
      message({ task_run: taskRun('B', { x: ref('A') }), assets: { asset_deps: ['s3://dep'] } }),
      store,
    )
    run(message({ task_run: taskRun('C', { y: ref('B') }) }), store)
    run(
      materializing({ materializes: ['s3://d'] }, { task_run: taskRun('D', { z: ref('C') }) }),
      store,
    )
    const e = run(
      materializing(
        { materializes: ['s3://e'] },
        { task_run: taskRun('E', { z: ref('D'), __parents__: ref('A') }) },
      ),
      store,
    )
    expect(names(e.events)).toEqual([
      'prefect.asset.referenced s3://d',
      'prefect.asset.materialization.succeeded s3://e',
    ])
    const c = store.get(FLOW_RUN_ID, 'C')
    expect(c?.map((r) => r.key)).toEqual(['s3://dep', 's3://a'])
  })

  it('puts asset_deps first, then inherited in task_inputs order, de-duplicated with the first properties winning', () => {
    const store = new MemoryLineageStore()
    run(
      materializing(
        { materializes: [{ key: 's3://a', properties: { name: 'from A' } }, 's3://b'] },
        { task_run: taskRun('A') },
      ),
      store,
    )
    run(materializing({ materializes: ['s3://c', 's3://a'] }, { task_run: taskRun('B') }), store)
    const d = run(
      materializing(
        {
          materializes: ['s3://out', 's3://out'],
          asset_deps: ['s3://c', { key: 's3://z', properties: { url: 'u' } }],
        },
        { task_run: taskRun('T', { second: ref('B'), first: ref('A') }) },
      ),
      store,
    )
    expect(d.events.map((e) => e.resource)).toEqual([
      { 'prefect.resource.id': 's3://c' },
      { 'prefect.resource.id': 's3://z', 'prefect.asset.url': 'u' },
      { 'prefect.resource.id': 's3://a' },
      { 'prefect.resource.id': 's3://b' },
      { 'prefect.resource.id': 's3://out' },
    ])
    expect(d.events[4]?.related.map((r) => r['prefect.resource.id'])).toEqual([
      's3://c',
      's3://z',
      's3://a',
      's3://b',
    ])
  })

  it('takes assets.upstream as the inherited list when given, even if empty', () => {
    const store = new MemoryLineageStore()
    run(materializing({ materializes: ['s3://a'] }, { task_run: taskRun('A') }), store)
    const given = run(
      materializing({ upstream: ['s3://given'] }, { task_run: taskRun('T', { x: ref('A') }) }),
      store,
    )
    expect(names(given.events)).toEqual([
      'prefect.asset.referenced s3://given',
      'prefect.asset.materialization.succeeded s3://lake/out',
    ])
    const empty = run(
      materializing({ upstream: [] }, { task_run: taskRun('T2', { x: ref('A') }) }),
      store,
    )
    expect(names(empty.events)).toEqual(['prefect.asset.materialization.succeeded s3://lake/out'])
  })

  it('counts task runs unknown to the state and skips them', () => {
    const d = run(
      materializing({}, { task_run: taskRun('T', { a: ref('nobody'), b: ref('nobody-else') }) }),
    )
    expect(d.unknownUpstreams).toBe(2)
    expect(names(d.events)).toEqual(['prefect.asset.materialization.succeeded s3://lake/out'])
  })

  it('keeps lineage per flow run', () => {
    const store = new MemoryLineageStore()
    run(materializing({ materializes: ['s3://a'] }, { task_run: taskRun('A') }), store)
    const other = { id: 'another-flow-run' }
    const d = run(
      materializing({}, { flow_run: other, task_run: taskRun('T', { x: ref('A') }) }),
      store,
    )
    expect(d.unknownUpstreams).toBe(1)
  })

  it('records the latest message that carries assets or task_inputs, and nothing from others', () => {
    const store = new MemoryLineageStore()
    run(message({ task_run: taskRun('P'), assets: { asset_deps: ['s3://one'] } }), store)
    run(message({ task_run: taskRun('P'), state: { type: 'RUNNING' } }), store)
    expect(store.get(FLOW_RUN_ID, 'P')?.map((r) => r.key)).toEqual(['s3://one'])
    run(message({ task_run: taskRun('P'), assets: { asset_deps: ['s3://two'] } }), store)
    expect(store.get(FLOW_RUN_ID, 'P')?.map((r) => r.key)).toEqual(['s3://two'])
  })

  it('gives a task run outside a flow run no lineage: upstream when given, else nothing, and records nothing', () => {
    const store = new MemoryLineageStore()
    const d = run(
      materializing(
        { upstream: ['s3://u'] },
        { flow_run: null, task_run: taskRun('T', { x: ref('A') }) },
      ),
      store,
    )
    expect(names(d.events)).toEqual([
      'prefect.asset.referenced s3://u',
      'prefect.asset.materialization.succeeded s3://lake/out',
    ])
    expect(d.lineage).toBeUndefined()
    expect(store.size).toBe(0)
  })
})

describe('materialization events (SPEC §2.3)', () => {
  it('carries metadata of its key, upstream assets and materialized_by in the related list', () => {
    const d = run(
      materializing(
        {
          materializes: ['s3://a', 's3://b'],
          asset_deps: ['s3://in'],
          materialized_by: 'dbt',
          metadata: { 's3://b': { rows: 3 } },
        },
        { state: { type: 'FAILED' } },
      ),
    )
    const [, a, b] = d.events
    expect(a?.payload).toEqual({})
    expect(b?.payload).toEqual({ rows: 3 })
    expect(b?.related).toEqual([
      { 'prefect.resource.id': 's3://in', 'prefect.resource.role': 'asset' },
      { 'prefect.resource.id': 'dbt', 'prefect.resource.role': 'asset-materialized-by' },
    ])
  })

  it('leaves out an empty materialized_by', () => {
    const d = run(materializing({ materialized_by: '' }))
    expect(d.events[0]?.related).toEqual([])
  })
})

describe('run context (SPEC §2.4)', () => {
  const full = {
    flow_run: {
      id: 'fr',
      name: '',
      flow_id: 'f',
      deployment: { id: 'd', name: 'nightly' },
      work_queue: { name: 'no id, left out' },
      work_pool: { id: 'p', type: 'kubernetes' },
      tags: ['zeta', 'Alpha', '😀', '\uffff', 'shared'],
    },
    task_run: { id: 't', tags: ['shared', 'beta'] },
  }

  it('lists known entries in order with names when known, tags sorted by code point', () => {
    const d = run(materializing({}, full), new MemoryLineageStore(), true)
    expect(d.events[0]?.related).toEqual([
      {
        'prefect.resource.id': 'prefect.flow-run.fr',
        'prefect.resource.role': 'flow-run',
        'prefect.resource.name': '',
      },
      { 'prefect.resource.id': 'prefect.task-run.t', 'prefect.resource.role': 'task-run' },
      { 'prefect.resource.id': 'prefect.flow.f', 'prefect.resource.role': 'flow' },
      {
        'prefect.resource.id': 'prefect.deployment.d',
        'prefect.resource.role': 'deployment',
        'prefect.resource.name': 'nightly',
      },
      {
        'prefect.resource.id': 'prefect.work-pool.p',
        'prefect.resource.role': 'work-pool',
        'prefect.work-pool.type': 'kubernetes',
      },
      ...['Alpha', 'beta', 'shared', 'zeta', '\uffff', '😀'].map((t) => ({
        'prefect.resource.id': `prefect.tag.${t}`,
        'prefect.resource.role': 'tag',
      })),
    ])
  })

  it('leaves out a run-context entry whose id is already related, keeping asset entries', () => {
    const d = run(
      materializing({ materialized_by: 'prefect.flow-run.fr' }, { flow_run: { id: 'fr' } }),
      new MemoryLineageStore(),
      true,
    )
    expect(d.events[0]?.related.map((r) => r['prefect.resource.role'])).toEqual([
      'asset-materialized-by',
      'task-run',
    ])
  })

  it('compares code points, not UTF-16 units', () => {
    expect(compareCodePoints('\uffff', '😀')).toBeLessThan(0)
    expect(['😀', '\uffff'].sort()).toEqual(['😀', '\uffff']) // what a plain sort would get wrong
    expect(compareCodePoints('a', 'ab')).toBeLessThan(0)
    expect(compareCodePoints('b', 'ab')).toBeGreaterThan(0)
    expect(compareCodePoints('x', 'x')).toBe(0)
  })
})

describe('event ids', () => {
  it('number events by their position among the message events', () => {
    const d = run(
      materializing({ asset_deps: ['s3://in'] }, { artifacts: [{ op: 'create', id: 'a' }] }),
    )
    const again = run(
      materializing({ asset_deps: ['s3://in'] }, { artifacts: [{ op: 'create', id: 'a' }] }),
    )
    expect(d.events.map((e) => e.id)).toEqual(again.events.map((e) => e.id))
    expect(new Set(d.events.map((e) => e.id)).size).toBe(3)
  })
})
