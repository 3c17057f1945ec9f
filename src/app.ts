/**
 * Composition root of the Kafka commands: checks the broker and the registry within the start-up
 * deadline (both at once, so one error lists every problem), registers the event schemas, and
 * makes sure the topics exist.
 */
import type { RegisteredSchema } from './codec/event-codec.js'
import { EventEncoder } from './codec/event-codec.js'
import { Registry } from './codec/registry.js'
import { eventTopic, eventTopics, type Config } from './config/config.js'
import type { EventName } from './derive/types.js'
import { AssetstreamError, asAssetstreamError } from './errors.js'
import { createKafka, isRetriable, type Admin, type Kafka } from './kafka/kafkajs.js'
import { ensureTopics, partitionCounts } from './kafka/topics.js'
import type { Logger } from './logger.js'
import { retryUntil } from './timing.js'

export interface Connected {
  readonly kafka: Kafka
  readonly admin: Admin
  readonly registry: Registry
  readonly schemas: ReadonlyMap<EventName, RegisteredSchema>
  readonly encoder: EventEncoder
  close(): Promise<void>
}

/**
 * An admin client for probing the cluster: `retries` connection attempts per call, and kafkajs's
 * own logs dropped unless debugging — failures are expected there, and the caller reports them.
 */
export function probeAdmin(
  config: Config,
  logger: Logger,
  clientId: string,
  retries: number,
): Admin {
  const quiet = logger.isLevelEnabled('debug') ? logger : logger.child({}, { level: 'fatal' })
  return createKafka({ brokers: config.brokers, clientId, retries }, quiet).admin()
}

/**
 * Connects to the broker within the start-up deadline. The check goes through an admin client of
 * few connection attempts, tried again until the deadline whatever the failure (kafkajs calls a
 * refused connection final once its own retries are spent), and quiet: the one error reported
 * at the deadline says what failed. The admin returned for the run keeps kafkajs's usual retries
 * (a restore must ride out a leader moving).
 */
async function openBroker(
  config: Config,
  logger: Logger,
  deadline: number,
): Promise<BrokerConnection> {
  const client = { brokers: config.brokers, clientId: config.clientId }
  const probe = probeAdmin(config, logger, config.clientId, 1)
  try {
    await retryUntil(
      deadline,
      async () => {
        await probe.connect()
        await probe.describeCluster()
      },
      () => true,
    )
  } catch (e) {
    throw new AssetstreamError(
      'broker_unavailable',
      `Kafka at ${config.brokers.join(',')} cannot be reached: ${(e as Error).message}`,
      { retriable: true, cause: e },
    )
  } finally {
    await probe.disconnect().catch(() => undefined)
  }
  const kafka = createKafka(client, logger)
  const admin = kafka.admin()
  await admin.connect()
  return { kafka, admin, close: () => admin.disconnect() }
}

export interface BrokerConnection {
  readonly kafka: Kafka
  readonly admin: Admin
  close(): Promise<void>
}

/** The broker only (no schema registration): for the operating commands (`tail`, `topics`). */
export function connectBroker(config: Config, logger: Logger): Promise<BrokerConnection> {
  return openBroker(config, logger, Date.now() + config.startupTimeoutMs)
}

/** The broker and the registry, checked at once; the event schemas registered. */
export async function connect(config: Config, logger: Logger): Promise<Connected> {
  const deadline = Date.now() + config.startupTimeoutMs
  const registry = new Registry(config.registryUrl)
  const [broker, schemas] = await Promise.allSettled([
    openBroker(config, logger, deadline),
    retryUntil(
      deadline,
      () => registry.registerEventSchemas((e) => eventTopic(config, e)),
      isRetriable,
    ),
  ])
  const problems = [
    broker.status === 'rejected'
      ? asAssetstreamError(broker.reason, 'broker_unavailable', 'Kafka')
      : undefined,
    schemas.status === 'rejected'
      ? asAssetstreamError(schemas.reason, 'registry_unavailable', 'schema registry')
      : undefined,
  ].filter((p) => p !== undefined)
  if (broker.status !== 'fulfilled' || schemas.status !== 'fulfilled') {
    if (broker.status === 'fulfilled') await broker.value.close().catch(() => undefined)
    const first = problems[0] as AssetstreamError
    throw new AssetstreamError(
      first.code,
      problems.length === 1
        ? first.message
        : `start-up failed:\n  - ${problems.map((p) => `[${p.code}] ${p.message}`).join('\n  - ')}`,
      { problems: problems.map((p) => p.message), cause: first },
    )
  }
  logger.info(
    {
      registry: config.registryUrl,
      ids: Object.fromEntries([...schemas.value].map(([e, s]) => [e, s.id])),
    },
    'event schemas registered',
  )
  return {
    ...broker.value,
    registry,
    schemas: schemas.value,
    encoder: new EventEncoder(schemas.value),
  }
}

/** The topics of the processor: the input must exist; outputs are created when missing. */
export async function ensureProcessorTopics(
  admin: Admin,
  config: Config,
  logger: Logger,
): Promise<void> {
  const input = (await partitionCounts(admin, [config.inputTopic])).get(config.inputTopic)
  if (input === undefined) {
    throw new AssetstreamError(
      'invalid_config',
      `the input topic ${config.inputTopic} does not exist`,
    )
  }
  await ensureTopics(
    admin,
    [
      ...eventTopics(config).map((topic) => ({ topic, partitions: config.topicPartitions })),
      { topic: config.dlqTopic, partitions: config.topicPartitions },
      {
        topic: config.changelogTopic,
        partitions: input,
        minPartitions: input,
        configs: { 'cleanup.policy': 'compact' },
      },
    ],
    { create: config.createTopics, replicationFactor: config.replicationFactor },
    logger,
  )
}
