/** Creating and checking the topics the processor needs (SPEC §3–5). */
import { AssetstreamError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Admin } from './kafkajs.js'

export interface TopicSpec {
  readonly topic: string
  readonly partitions: number
  /** At least this many partitions (the changelog must cover every input partition). */
  readonly minPartitions?: number
  readonly configs?: Readonly<Record<string, string>>
}

/** Partition count of each existing topic among `topics`; absent topics are missing from the map. */
export async function partitionCounts(
  admin: Admin,
  topics: readonly string[],
): Promise<Map<string, number>> {
  const existing = new Set(await admin.listTopics())
  const present = topics.filter((t) => existing.has(t))
  const out = new Map<string, number>()
  if (present.length === 0) return out
  const { topics: meta } = await admin.fetchTopicMetadata({ topics: present })
  for (const t of meta) out.set(t.name, t.partitions.length)
  return out
}

/** min(3, brokers): what an operator expects by default from a cluster of any size. */
export async function defaultReplicationFactor(admin: Admin): Promise<number> {
  const { brokers } = await admin.describeCluster()
  return Math.max(1, Math.min(3, brokers.length))
}

/**
 * Creates the topics that are missing when `create` is set, and checks the others. Throws one
 * error listing every problem.
 */
export async function ensureTopics(
  admin: Admin,
  specs: readonly TopicSpec[],
  options: { create: boolean; replicationFactor: number | undefined },
  logger: Logger,
): Promise<void> {
  const counts = await partitionCounts(
    admin,
    specs.map((s) => s.topic),
  )
  const missing = specs.filter((s) => !counts.has(s.topic))
  const problems: string[] = []
  for (const s of specs) {
    const n = counts.get(s.topic)
    if (n !== undefined && s.minPartitions !== undefined && n < s.minPartitions) {
      problems.push(`topic ${s.topic} has ${n} partitions, needs at least ${s.minPartitions}`)
    }
  }
  if (missing.length > 0 && !options.create) {
    problems.push(`missing topics (creation is off): ${missing.map((s) => s.topic).join(', ')}`)
  }
  if (problems.length === 0 && missing.length > 0) {
    const replicationFactor = options.replicationFactor ?? (await defaultReplicationFactor(admin))
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor,
        configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
    })
    // Another instance may have created some at the same time: check they all exist now.
    const after = await partitionCounts(
      admin,
      missing.map((s) => s.topic),
    )
    for (const s of missing)
      if (!after.has(s.topic)) problems.push(`could not create topic ${s.topic}`)
    logger.info({ topics: missing.map((s) => s.topic), replicationFactor }, 'created topics')
  }
  if (problems.length > 0) {
    throw new AssetstreamError(
      'invalid_config',
      `topic problems:\n  - ${problems.join('\n  - ')}`,
      { problems },
    )
  }
}
