/** What kafkajs logs at ERROR but retries itself is logged as a warning. */
import { describe, expect, it } from 'vitest'
import { kafkajsLevel } from '../../../src/kafka/kafkajs.js'

const [ERROR, WARN, INFO] = [1, 2, 4] as const // kafkajs's logLevel values

describe('kafkajs log levels', () => {
  it.each([
    ['Connection', { message: 'Response InitProducerId(key: 22, version: 1)' }],
    ['BrokerPool', { message: 'Failed to connect to seed broker, trying another broker' }],
    ['Producer', { message: 'Failed to send messages: NOT_LEADER', retryCount: 0 }],
    ['Consumer', { message: 'Restarting the consumer in 300ms', retryTime: 300 }],
    ['Consumer', { message: 'Crash: KafkaJSProtocolError: The coordinator is loading' }],
    ['Runner', { message: 'The coordinator is not aware of this member, re-joining the group' }],
  ])('%s %j: a warning', (namespace, log) => {
    expect(kafkajsLevel(ERROR, namespace, log)).toBe(WARN)
  })

  it('keeps other errors, and every other level, as they are', () => {
    expect(kafkajsLevel(ERROR, 'Admin', { message: 'Topic creation errors' })).toBe(ERROR)
    expect(kafkajsLevel(INFO, 'Connection', { message: 'connected' })).toBe(INFO)
  })
})
