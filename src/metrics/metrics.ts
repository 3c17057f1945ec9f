/** The metrics port of the processor; `prometheus.ts` is its adapter, `NO_METRICS` a no-op. */
import type { EventName } from '../derive/types.js'

export interface Metrics {
  messagesConsumed(partition: number, n: number): void
  eventsPublished(event: EventName, n: number): void
  deadLetters(code: string, n: number): void
  unknownUpstreams(n: number): void
  /** Seconds from a message's Kafka timestamp to its batch being delivered. */
  messageLatency(seconds: number): void
  batchDuration(seconds: number): void
  consumerLag(partition: number, lag: number): void
  /** A partition no longer assigned: its per-partition series go. */
  partitionRevoked(partition: number): void
  transaction(outcome: 'commit' | 'abort'): void
  retry(): void
}

export const NO_METRICS: Metrics = {
  messagesConsumed: () => undefined,
  eventsPublished: () => undefined,
  deadLetters: () => undefined,
  unknownUpstreams: () => undefined,
  messageLatency: () => undefined,
  batchDuration: () => undefined,
  consumerLag: () => undefined,
  partitionRevoked: () => undefined,
  transaction: () => undefined,
  retry: () => undefined,
}
