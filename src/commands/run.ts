/** `assetstream run`: the processor as a member of its consumer group, until a signal. */
import { connect, ensureProcessorTopics, probeAdmin } from '../app.js'
import { loadConfig, settingsHelp } from '../config/config.js'
import { AssetstreamError } from '../errors.js'
import { Processor } from '../kafka/processor.js'
import { Reachability } from '../kafka/reachability.js'
import { createLogger } from '../logger.js'
import { createPrometheusMetrics } from '../metrics/prometheus.js'
import { startOpsServer } from '../metrics/server.js'
import type { CommandIo } from './derive.js'

export const RUN_HELP = `Usage: assetstream run [options]

Consumes task-run lifecycle messages from the input topic as a member of the consumer group,
derives Prefect artifact and asset events, and publishes them Avro-encoded to one topic per
event type, at least once. Rejected messages go to the dead-letter topic. Stops on SIGINT or
SIGTERM after committing what it processed.

Options (flags override environment variables):
${settingsHelp()}
  -h, --help                         show this help
`

export async function runProcessor(argv: readonly string[], io: CommandIo): Promise<number> {
  const { config, help, positionals } = loadConfig(io.env, argv)
  if (help) {
    io.stdout.write(RUN_HELP)
    return 0
  }
  if (positionals.length > 0)
    throw new AssetstreamError('usage', `unexpected arguments: ${positionals.join(' ')}`)
  const logger = createLogger(config.logLevel)
  const app = await connect(config, logger)
  try {
    await ensureProcessorTopics(app.admin, config, logger)
    // The lineage gauges are read on scrape, once the processor exists.
    const metrics = createPrometheusMetrics({ lineage: () => p.lineageSize() })
    const p = new Processor(config, { ...app, schemas: app.registry, logger, metrics })
    // /readyz also asks the cluster itself every 2 s, on a quiet client of its own: 503 within
    // about 5 s of the brokers going away, whatever the consumer has noticed.
    const probe = probeAdmin(config, logger, `${config.clientId}-readyz`, 0)
    const cluster = Reachability.ofAdmin(probe, { everyMs: 2_000, failures: 2 })
    cluster.start()
    const ops = await startOpsServer(config.metricsHost, config.metricsPort, metrics.registry, {
      alive: () => p.alive(),
      notReady: () => cluster.notReady() ?? p.notReady(),
    })
    const address = ops.address()
    const port = typeof address === 'object' && address !== null ? address.port : config.metricsPort
    logger.info(
      { port, host: config.metricsHost },
      'ops endpoint listening (/metrics, /healthz, /readyz)',
    )
    try {
      const stop = io.stopSignal()
      await p.start()
      const outcome = await Promise.race([stop.then((s) => ({ signal: s })), p.failed])
      logger.info(
        { signal: outcome.signal },
        'stopping: draining the batches in flight and committing',
      )
      await p.stop()
    } finally {
      ops.close()
      cluster.stop()
      await probe.disconnect().catch(() => undefined)
    }
    return 0
  } finally {
    await app.close().catch(() => undefined)
    logger.flush()
  }
}
