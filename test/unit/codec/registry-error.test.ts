import { describe, expect, it } from 'vitest'
import { registryError } from '../../../src/codec/registry.js'

const failure = (message: string, status?: number, name = 'Error'): Error =>
  Object.assign(new Error(message), { status, name })

describe('registryError', () => {
  it.each([
    // Two instances registering the same new subject at once (seen on Apicurio 3.3.3).
    ['Compatibility does not match the configuration (BACKWARD != NONE)', undefined],
    ["assetstream - A rule named 'COMPATIBILITY' already exists.", 409],
  ])('a registration race is retriable: %s', (message, status) => {
    const e = registryError(failure(message, status), 'registering t-value')
    expect(e.code).toBe('schema_incompatible')
    expect(e.retriable).toBe(true)
  })

  it('a schema the registry refuses is not retriable', () => {
    const e = registryError(
      failure('Schema being registered is incompatible with an earlier schema', 409),
      'registering t-value',
    )
    expect(e.code).toBe('schema_incompatible')
    expect(e.retriable).toBe(false)
    expect(e.message).toContain('the registry refused the schema')
  })

  it('a refused connection is retriable and named as such', () => {
    const e = registryError(
      failure('connect ECONNREFUSED 127.0.0.1:8081 status 400: connect ECONNREFUSED', 400),
      'registering t-value',
    )
    expect(e.code).toBe('registry_unavailable')
    expect(e.retriable).toBe(true)
  })

  it('an unknown schema id is schema_not_found', () => {
    const e = registryError(failure('Schema not found', 404), 'schema id 7')
    expect(e.code).toBe('schema_not_found')
    expect(e.retriable).toBe(false)
  })
})
