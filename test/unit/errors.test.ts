import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { AssetstreamError, ERROR_CODES, INPUT_ERROR_CODES } from '../../src/errors.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

describe('error codes', () => {
  it('are unique', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length)
  })

  it.each(ERROR_CODES)('%s is documented in the README error table', (code) => {
    expect(readme).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'))
  })

  it('rank the input codes as SPEC §1 lists them', () => {
    expect(INPUT_ERROR_CODES).toEqual([
      'invalid_message',
      'invalid_asset_key',
      'invalid_asset_description',
      'invalid_artifact_key',
      'event_limit_exceeded',
    ])
  })

  it('carry code, retriable flag, context and cause', () => {
    const cause = new Error('boom')
    const e = new AssetstreamError('registry_unavailable', 'registry down', {
      retriable: true,
      cause,
      topic: 't',
    })
    expect(e).toBeInstanceOf(Error)
    expect(e).toMatchObject({
      code: 'registry_unavailable',
      retriable: true,
      context: { topic: 't' },
      cause,
    })
  })
})
