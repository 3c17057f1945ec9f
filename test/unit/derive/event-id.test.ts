import { describe, expect, it } from 'vitest'
import { eventId } from '../../../src/derive/event-id.js'
import { parseRfc3339 } from '../../../src/derive/time.js'

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('eventId', () => {
  it('matches an id of the conformance cases (single_materialization_success)', () => {
    // From x_invalid_inputs, line 1: message 07d4d047…, first event, occurred 08:00:00Z.
    const id = eventId(
      '07d4d047-baf0-5259-8bc8-ebaa497e1784',
      'prefect.asset.materialization.succeeded',
      's3://ok/one',
      0,
      parseRfc3339('2026-11-27T08:00:00Z') as number,
    )
    expect(id).toBe('01a21c04-b400-76eb-b75d-254d88ff4b47')
  })

  it('puts the occurred milliseconds in the first 48 bits and sets version and variant', () => {
    const t = parseRfc3339('2026-11-27T08:00:00.123999Z') as number
    const id = eventId('m', 'prefect.asset.referenced', 's3://x', 3, t)
    expect(id).toMatch(UUID7)
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(
      Date.parse('2026-11-27T08:00:00.123Z'),
    )
  })

  it('depends on every input', () => {
    const t = 1_700_000_000_000_000
    const base = eventId('m', 'e', 'r', 0, t)
    expect(eventId('m', 'e', 'r', 0, t)).toBe(base)
    for (const other of [
      eventId('m2', 'e', 'r', 0, t),
      eventId('m', 'e2', 'r', 0, t),
      eventId('m', 'e', 'r2', 0, t),
      eventId('m', 'e', 'r', 1, t),
      eventId('m', 'e', 'r', 0, t + 1000),
    ]) {
      expect(other).not.toBe(base)
    }
  })

  it("encodes an instant before 1970 in 48-bit two's complement", () => {
    const id = eventId('m', 'e', 'r', 0, -1000)
    expect(id.slice(0, 13)).toBe('ffffffff-ffff')
    expect(id).toMatch(UUID7)
  })
})
