/**
 * kafkajs's consumer fetch manager, as fixed by src/kafka/fetch-manager-fix.ts: the consumer is
 * stopped while the manager rebuilds its fetchers after a broker change (the replicated cluster's
 * processor kill -9 during a leader move). kafkajs 2.2.4's own module is run through it too.
 */
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { createFetchManager } from '../../../src/kafka/fetch-manager-fix.js'
// The kafkajs adapter installs the fix before kafkajs loads.
import '../../../src/kafka/kafkajs.js'
import { originalKafkajsModule } from '../../helpers/kafkajs-original.js'

const require = createRequire(import.meta.url)

const quiet = {
  namespace: () => quiet,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
}

/**
 * Brokers 1 and 2; a Fetch to broker 1 stays in flight until `answer`. A stopped consumer's
 * runner answers every fetch with [] at once, as kafkajs's does; past 1,000 such answers the fake
 * throws, so a manager that spins on them (all in microtasks: no timer can end the test) ends.
 */
async function stopDuringRebuild(create: typeof createFetchManager) {
  let nodeIds = [1, 2]
  let running = true
  let fetchesAfterStop = 0
  let answer: (batches: unknown[]) => void = () => undefined
  const inFlight = new Promise<unknown[]>((resolve) => (answer = resolve))
  const manager = create({
    logger: quiet,
    getNodeIds: () => nodeIds,
    fetch: async (nodeId) => {
      if (!running) {
        if (++fetchesAfterStop > 1_000) throw new Error('fetching for a stopped consumer')
        return []
      }
      if (nodeId === 1) return inFlight
      await sleep(5)
      return []
    },
    handler: () => Promise.resolve(),
  })
  const started = manager.start()
  started.catch(() => undefined)
  await sleep(20)
  nodeIds = [1, 3] // broker 2 is gone: its fetcher fails, the manager waits for broker 1's fetch
  await sleep(20)
  running = false // SIGTERM: the runner stops, then stops the fetch manager
  const stopped = manager.stop()
  answer([])
  return { started, stopped, fetchesAfterStop: () => fetchesAfterStop }
}

describe("kafkajs's fetch manager stopped during a broker change (fixed)", () => {
  it('is the module kafkajs consumers use', () => {
    expect(require('kafkajs/src/consumer/fetchManager.js')).toBe(createFetchManager)
  })

  it('makes no new fetchers once stopped, and its start resolves', async () => {
    const s = await stopDuringRebuild(createFetchManager)
    await s.started
    await s.stopped
    expect(s.fetchesAfterStop()).toBe(0)
  })

  it('kafkajs 2.2.4 made new fetchers that fetched for the stopped consumer without end', async () => {
    const original = originalKafkajsModule<typeof createFetchManager>(
      'src/consumer/fetchManager.js',
    )
    const s = await stopDuringRebuild(original)
    await expect(s.started).rejects.toThrow('fetching for a stopped consumer')
    expect(s.fetchesAfterStop()).toBeGreaterThan(1_000)
  })
})
