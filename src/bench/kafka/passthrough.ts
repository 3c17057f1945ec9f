/**
 * The kafkajs baseline of `npm run bench`: a consume → produce passthrough with no decoding,
 * derivation or encoding, and the processor's Kafka settings (src/kafka/processor.ts and
 * delivery.ts, at-least-once):
 *
 * - a consumer group on the input topic, `eachBatch` with `partitionsConsumedConcurrently`,
 *   `eachBatchAutoResolve: false`, auto-commit of resolved offsets after each batch,
 *   `maxWaitTimeInMs` 1000, session 30 s / heartbeat 3 s;
 * - one idempotent producer (`maxInFlightRequests` 1, murmur2 partitioner), one
 *   `sendBatch({acks: -1})` per fetched batch, then the batch's last offset is resolved and
 *   committed.
 *
 * Each input record goes to the output topic with its key and value unchanged (no headers).
 * Run as a child process of the benchmark:
 *
 *   node dist/bench/kafka/passthrough.js --brokers 127.0.0.1:9092 --input IN --output OUT \
 *     --group G [--partitions-concurrently 4]
 *
 * It logs `passthrough started` on stderr and stops on SIGTERM/SIGINT after the batches in flight
 * (exit 0), printing `{"messages":N}` on stdout.
 */
import { parseArgs } from 'node:util'
import { createKafka, Partitioners, type Message } from '../../kafka/kafkajs.js'
import { createLogger } from '../../logger.js'

const HELP = `Usage: node dist/bench/kafka/passthrough.js --input TOPIC --output TOPIC --group ID [options]

  --brokers LIST                  bootstrap servers (default 127.0.0.1:9092)
  --partitions-concurrently N     input partitions processed at once (default 4)
  -h, --help                      show this help
`

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string', default: '127.0.0.1:9092' },
      input: { type: 'string' },
      output: { type: 'string' },
      group: { type: 'string' },
      'partitions-concurrently': { type: 'string', default: '4' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help === true) {
    process.stdout.write(HELP)
    return 0
  }
  const { input, output, group } = values
  if (input === undefined || output === undefined || group === undefined) {
    process.stderr.write(HELP)
    return 2
  }
  const logger = createLogger('warn', 'passthrough')
  const kafka = createKafka(
    { brokers: values.brokers.split(','), clientId: 'assetstream-bench-passthrough' },
    logger,
  )
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
  })
  const consumer = kafka.consumer({
    groupId: group,
    allowAutoTopicCreation: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 1_000,
  })
  let messages = 0
  await producer.connect()
  await consumer.connect()
  await consumer.subscribe({ topic: input, fromBeginning: true })
  await consumer.run({
    autoCommit: true,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Number(values['partitions-concurrently']),
    eachBatch: async (payload) => {
      const { batch } = payload
      if (batch.isEmpty() || !payload.isRunning() || payload.isStale()) return
      const out: Message[] = batch.messages.map((m) => ({ key: m.key, value: m.value }))
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic: output, messages: out }] })
      payload.resolveOffset(batch.lastOffset())
      await payload.commitOffsetsIfNecessary()
      messages += batch.messages.length
    },
  })
  process.stderr.write(`passthrough started\n`)
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  process.stderr.write(`passthrough stopping (${signal})\n`)
  await consumer.disconnect()
  await producer.disconnect()
  process.stdout.write(`${JSON.stringify({ messages })}\n`)
  return 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    process.stderr.write(`passthrough failed: ${(e as Error).stack ?? String(e)}\n`)
    process.exitCode = 1
  },
)
