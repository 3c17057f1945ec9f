/**
 * `assetstream replay` on the real stack: from a time, up to the end offsets at its start, into
 * topics of another prefix; re-derived events equal the first ones (ids included) thanks to the
 * lineage warm-up; `--reset-group` is refused while the live group has members.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, describe, expect, it } from 'vitest'
import { generateMessages } from '../../src/bench/workload.js'
import { toJsonForm } from '../../src/derive/json-form.js'
import { processValue } from '../../src/pipeline/process.js'
import { MemoryLineageStore } from '../../src/state/memory-lineage-store.js'
import { cli, runEnv } from './cli.js'
import {
  consumeUntil,
  createTopic,
  deleteRunTopics,
  EventReader,
  names,
  ProcessorProcess,
  produce,
  withAdmin,
} from './support.js'

const n = names('replay')
afterAll(async () => {
  await deleteRunTopics(n.run)
})

describe('replay', () => {
  it('re-derives identical events from a time on, without touching the live group', async () => {
    await createTopic(n.input, 3)
    const input = generateMessages({ messages: 3_000, seed: 17 })
    const half = 1_500
    // Events per message, from one in-order pass (lineage crosses the two halves).
    const store = new MemoryLineageStore()
    const perMessage = input.map((m) => {
      const o = processValue(JSON.parse(JSON.stringify(m.value)), store, { runContext: true })
      return o.ok ? o.events.map((e) => JSON.stringify(toJsonForm(e))) : []
    })
    const secondHalf = perMessage.slice(half).flat().sort()
    const all = perMessage.flat()
    await produce(
      n.input,
      input.slice(0, half).map((m) => ({ key: m.key, value: JSON.stringify(m.value) })),
    )
    await sleep(1_500)
    const from = new Date().toISOString()
    await sleep(1_500)
    await produce(
      n.input,
      input.slice(half).map((m) => ({ key: m.key, value: JSON.stringify(m.value) })),
    )

    // The live processor does its work; keep it running (a member of the live group).
    const live = new ProcessorProcess(n)
    try {
      await live.started()
      await consumeUntil(n.eventTopics, (got) => got.length >= all.length)
      const env = runEnv(n)

      const refused = await cli(['replay', '--from', from, '--reset-group'], env)
      expect(refused.status).toBe(2)
      expect(refused.stderr).toContain('member')

      const prefix = `${n.run}.replayed.`
      const r = await cli(['replay', '--from', from, '--topic-prefix', prefix], env)
      expect(r.status, r.stderr.slice(-3000)).toBe(0)
      expect(r.stdout).toMatch(/^replayed 3000 messages \(1500 from the start offsets/)
      expect(r.stderr).toContain('replay progress')
      const topics = n.eventTopics.map((t) => t.replace(n.prefix, prefix))
      const reader = new EventReader()
      const read = await consumeUntil(topics, (got) => got.length >= secondHalf.length)
      const replayed = (await Promise.all(read.map((x) => reader.decode(x, prefix)))).map((e) =>
        JSON.stringify(e),
      )
      expect(replayed.sort()).toEqual(secondHalf)

      // Without the warm-up, lineage from the first half is missing: events differ.
      const coldPrefix = `${n.run}.cold.`
      const cold = await cli(
        ['replay', '--from', from, '--warmup-ms', '0', '--topic-prefix', coldPrefix],
        env,
      )
      expect(cold.status).toBe(0)
      const coldRead = await consumeUntil(
        n.eventTopics.map((t) => t.replace(n.prefix, coldPrefix)),
        () => true,
      )
      const coldEvents = (await Promise.all(coldRead.map((x) => reader.decode(x, coldPrefix)))).map(
        (e) => JSON.stringify(e),
      )
      expect(coldEvents.length).toBeGreaterThan(0)
      expect(coldEvents.sort()).not.toEqual(secondHalf)

      // The live group kept its offsets: at the end of the input.
      const committed = await withAdmin(async (admin) =>
        (await admin.fetchOffsets({ groupId: n.group, topics: [n.input] }))[0]?.partitions.reduce(
          (s, p) => s + Number(p.offset),
          0,
        ),
      )
      expect(committed).toBe(input.length)
    } finally {
      expect(await live.stop()).toBe(0)
    }

    // With no member left, --reset-group moves the live group back to the start offsets.
    const reset = await cli(['replay', '--from', from, '--reset-group'], runEnv(n))
    expect(reset.status, reset.stderr).toBe(0)
    const after = await withAdmin(async (admin) =>
      (await admin.fetchOffsets({ groupId: n.group, topics: [n.input] }))[0]?.partitions.reduce(
        (s, p) => s + Number(p.offset),
        0,
      ),
    )
    expect(after).toBe(half)
  })
})
