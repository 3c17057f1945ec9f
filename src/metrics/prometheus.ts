/** Prometheus metrics (prom-client): the adapter of the `Metrics` port, plus gauges read on scrape. */
import client from 'prom-client'
import type { Registry } from 'prom-client'
import type { Metrics } from './metrics.js'

export interface Gauges {
  /** Lineage state held by this instance. */
  lineage(): { entries: number; bytes: number }
}

export interface PrometheusMetrics extends Metrics {
  readonly registry: Registry
}

export function createPrometheusMetrics(gauges: Gauges): PrometheusMetrics {
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry, prefix: 'assetstream_' })
  const r = [registry]
  const consumed = new client.Counter({
    name: 'assetstream_messages_consumed_total',
    help: 'Lifecycle messages consumed (processed and delivered)',
    labelNames: ['partition'],
    registers: r,
  })
  const published = new client.Counter({
    name: 'assetstream_events_published_total',
    help: 'Events published, per event type',
    labelNames: ['event'],
    registers: r,
  })
  const dead = new client.Counter({
    name: 'assetstream_dead_letters_total',
    help: 'Messages sent to the dead-letter topic, per error code',
    labelNames: ['code'],
    registers: r,
  })
  const unknown = new client.Counter({
    name: 'assetstream_lineage_unknown_upstream_total',
    help: 'Upstream task-run references that lineage state did not know',
    registers: r,
  })
  const latency = new client.Histogram({
    name: 'assetstream_message_latency_seconds',
    help: "From a lifecycle message's Kafka timestamp to its events being acknowledged (or committed)",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: r,
  })
  const batch = new client.Histogram({
    name: 'assetstream_batch_duration_seconds',
    help: 'Processing and delivery time of one batch of one partition',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: r,
  })
  const lag = new client.Gauge({
    name: 'assetstream_consumer_lag',
    help: 'Messages behind the end of each assigned input partition, as of its last batch',
    labelNames: ['partition'],
    registers: r,
  })
  const txns = new client.Counter({
    name: 'assetstream_transactions_total',
    help: 'Exactly-once transactions, per outcome',
    labelNames: ['outcome'],
    registers: r,
  })
  const retries = new client.Counter({
    name: 'assetstream_batch_retries_total',
    help: 'Batches retried after a retriable failure (broker, registry)',
    registers: r,
  })
  new client.Gauge({
    name: 'assetstream_lineage_entries',
    help: 'Task-run entries of lineage state held by this instance',
    registers: r,
    collect() {
      this.set(gauges.lineage().entries)
    },
  })
  new client.Gauge({
    name: 'assetstream_lineage_bytes',
    help: 'Estimated memory of the lineage state held by this instance',
    registers: r,
    collect() {
      this.set(gauges.lineage().bytes)
    },
  })
  return {
    registry,
    messagesConsumed: (partition, n) => consumed.inc({ partition: String(partition) }, n),
    eventsPublished: (event, n) => published.inc({ event }, n),
    deadLetters: (code, n) => dead.inc({ code }, n),
    unknownUpstreams: (n) => unknown.inc(n),
    messageLatency: (s) => latency.observe(s),
    batchDuration: (s) => batch.observe(s),
    consumerLag: (partition, n) => lag.set({ partition: String(partition) }, n),
    partitionRevoked: (partition) => lag.remove({ partition: String(partition) }),
    transaction: (outcome) => txns.inc({ outcome }),
    retry: () => retries.inc(),
  }
}
