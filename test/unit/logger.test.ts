/** Log lines at a terminal: one readable line per JSON entry. */
import { describe, expect, it } from 'vitest'
import { readableLine } from '../../src/logger.js'

describe('readable log lines', () => {
  it('gives time, level, message and the other fields, an error by its message', () => {
    const line = readableLine(
      JSON.stringify({
        level: 40,
        time: Date.UTC(2026, 11, 3, 7, 30, 1, 250),
        pid: 7,
        name: 'assetstream',
        module: 'processor',
        partition: 2,
        err: { type: 'Error', message: 'broker gone', stack: 'Error: broker gone\n    at x' },
        msg: 'transaction aborted',
      }),
    )
    expect(line).toBe(
      '07:30:01.250 WARN  transaction aborted  module=processor partition=2 err="broker gone"\n',
    )
  })

  it('passes a line that is not JSON through', () => {
    expect(readableLine('not json')).toBe('not json')
  })
})
