/**
 * Generated lifecycle messages (SPEC §1, JSON form) for property tests: valid and invalid shapes
 * alike, task runs of a small set of ids so that lineage crosses messages. The caller chooses the
 * strings and the timestamps (the Avro writer's tests stress string lengths and distant dates).
 */
import fc from 'fast-check'
import { STATE_TYPES } from '../../src/derive/types.js'

export const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 })

export interface LifecycleArbitraryOptions {
  /** Every free-text field. */
  readonly text: fc.Arbitrary<string>
  /** `occurred` of the message and of artifact operations. */
  readonly timestamp: fc.Arbitrary<string>
}

export function lifecycleArbitrary({ text, timestamp }: LifecycleArbitraryOptions) {
  const taskRunIds = fc.constantFrom('t1', 't2', 't3', 't4', 't5')
  const assetKey = fc.oneof(
    fc.constantFrom('s3://a', 's3://b', 'postgres://db/t', 'bq://p/d/t', 'gs://x/ÿ'),
    text.map((t) => `s3://${t}`), // may hold forbidden characters: a rejection, never a crash
  )
  const props = fc.record(
    {
      name: maybe(fc.option(text)),
      description: maybe(text),
      url: maybe(text),
      owners: maybe(fc.array(text, { maxLength: 3 })),
    },
    { requiredKeys: [] },
  )
  const assetRef = fc.oneof(
    assetKey,
    fc.record({ key: assetKey, properties: maybe(fc.option(props)) }, { requiredKeys: ['key'] }),
  )
  const json = fc.jsonValue({ maxDepth: 2 })
  const idName = fc.record({ id: maybe(text), name: maybe(text) }, { requiredKeys: [] })
  return fc.record(
    {
      id: fc.oneof(fc.uuid(), text),
      occurred: timestamp,
      flow_run: maybe(
        fc.record(
          {
            id: fc.constantFrom('fr1', 'fr2'),
            name: maybe(text),
            flow_id: maybe(text),
            flow_name: maybe(text),
            deployment: maybe(idName),
            work_queue: maybe(idName),
            work_pool: maybe(
              fc.record(
                { id: maybe(text), name: maybe(text), type: maybe(text) },
                { requiredKeys: [] },
              ),
            ),
            tags: maybe(fc.array(text, { maxLength: 4 })),
          },
          { requiredKeys: ['id'] },
        ),
      ),
      task_run: fc.record(
        {
          id: taskRunIds,
          name: maybe(text),
          tags: maybe(fc.array(text, { maxLength: 3 })),
          task_inputs: maybe(
            fc.dictionary(
              fc.constantFrom('df', 'x', 'wait_for', '__parents__'),
              fc.array(
                fc.oneof(
                  taskRunIds.map((id) => ({ input_type: 'task_run', id })),
                  fc.constant({ input_type: 'parameter', name: 'p' }),
                ),
                { maxLength: 3 },
              ),
            ),
          ),
        },
        { requiredKeys: ['id'] },
      ),
      state: fc.record(
        {
          type: fc.constantFrom(...STATE_TYPES),
          name: maybe(fc.constantFrom('Cached', 'Retrying', 'TimedOut', 'Completed', 'Done')),
        },
        { requiredKeys: ['type'] },
      ),
      assets: maybe(
        fc.record(
          {
            materializes: maybe(fc.array(assetRef, { maxLength: 3 })),
            materialized_by: maybe(fc.constantFrom('dbt', '', 'prefect.flow-run.fr1')),
            asset_deps: maybe(fc.array(assetRef, { maxLength: 3 })),
            upstream: maybe(fc.array(assetRef, { maxLength: 2 })),
            metadata: maybe(
              fc.dictionary(assetKey, fc.dictionary(text, json, { maxKeys: 3 }), { maxKeys: 2 }),
            ),
          },
          { requiredKeys: [] },
        ),
      ),
      artifacts: maybe(
        fc.array(
          fc.oneof(
            fc.record(
              {
                op: fc.constant('create'),
                id: fc.uuid(),
                key: maybe(fc.option(fc.constantFrom('report', '', 'Bad'))),
                type: maybe(text),
                description: maybe(text),
                data: maybe(json),
                occurred: maybe(timestamp),
              },
              { requiredKeys: ['op', 'id'] },
            ),
            fc.record(
              {
                op: fc.constant('update'),
                id: fc.uuid(),
                changes: fc.dictionary(
                  fc.constantFrom('data', 'description', 'type', 'metadata_', 'other'),
                  json,
                ),
                occurred: maybe(timestamp),
              },
              { requiredKeys: ['op', 'id', 'changes'] },
            ),
          ),
          { maxLength: 3 },
        ),
      ),
    },
    { requiredKeys: ['id', 'occurred', 'task_run', 'state'] },
  )
}
