/**
 * The paced producer of the benchmark's latency run, in a worker thread: generating and sending
 * messages then never delays the main thread, which stamps the events as they arrive.
 *
 * It sends `rate` messages per second for `seconds`: every 5 ms, the messages due go in one
 * request (acks=all, awaited before the next; a producer with linger.ms=5 batches about so) and posts, for each request, the message ids and the
 * absolute time (ms, `performance.timeOrigin + performance.now()`) just before it was handed to
 * the producer. At the end it posts `{done: true, produced, seconds}`.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { setTimeout as sleep } from 'node:timers/promises'
import { createKafka, Partitioners } from '../../kafka/kafkajs.js'
import { createLogger } from '../../logger.js'
import { generateWorkload } from '../workload.js'

export interface PacedProducerData {
  readonly brokers: string
  readonly topic: string
  readonly rate: number
  readonly seconds: number
  readonly seed: number
  readonly clientId: string
}

export type PacedProducerMessage =
  | { readonly sent: readonly string[]; readonly at: number }
  | { readonly done: true; readonly produced: number; readonly seconds: number }
  | { readonly error: string }

/** How often due messages are sent: about what a producer's linger.ms of 5 gives. */
const TICK_MS = 5
/** Messages in one request at most (~800 KB; a partition's share stays far below 1 MiB). */
const MAX_PER_REQUEST = 800

const now = (): number => performance.timeOrigin + performance.now()

async function run(data: PacedProducerData, post: (m: PacedProducerMessage) => void) {
  const kafka = createKafka(
    { brokers: data.brokers.split(','), clientId: data.clientId },
    createLogger('error', 'bench-producer'),
  )
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  })
  await producer.connect()
  try {
    const total = Math.ceil(data.rate * data.seconds)
    const gen = generateWorkload({ messages: total, seed: data.seed })
    const t0 = now()
    let produced = 0
    for (;;) {
      const elapsed = (now() - t0) / 1000
      if (elapsed >= data.seconds || produced >= total) break
      const due = Math.min(total, Math.floor(elapsed * data.rate))
      if (due <= produced) {
        await sleep(TICK_MS)
        continue
      }
      const messages: { key: string; value: string }[] = []
      const ids: string[] = []
      for (let i = produced; i < due && messages.length < MAX_PER_REQUEST; i++) {
        const r = gen.next()
        if (r.done === true) break
        ids.push(r.value.value.id)
        messages.push({ key: r.value.key, value: JSON.stringify(r.value.value) })
      }
      post({ sent: ids, at: now() })
      await producer.send({ topic: data.topic, acks: -1, messages })
      produced += messages.length
    }
    post({ done: true, produced, seconds: (now() - t0) / 1000 })
  } finally {
    await producer.disconnect()
  }
}

if (parentPort !== null) {
  const port = parentPort
  run(workerData as PacedProducerData, (m) => port.postMessage(m)).catch((e: unknown) =>
    port.postMessage({ error: (e as Error).stack ?? String(e) }),
  )
}
