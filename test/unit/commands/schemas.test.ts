import { describe, expect, it } from 'vitest'
import { checkProblems, formatChecks, type SubjectCheck } from '../../../src/commands/schemas.js'
import { main } from '../../../src/main.js'
import { memoryIo } from './io.js'

const check = (over: Partial<SubjectCheck>): SubjectCheck => ({
  event: 'prefect.asset.referenced',
  subject: 'p.prefect.asset.referenced-value',
  status: 'compatible',
  latest: { version: 2, id: 17 },
  level: 'BACKWARD',
  messages: [],
  ...over,
})

describe('schemas check verdicts', () => {
  it('compatible and new are fine', () => {
    expect(
      checkProblems([check({}), check({ status: 'new', latest: undefined, level: undefined })]),
    ).toEqual([])
  })

  it('names an incompatible subject with its latest version and the reasons', () => {
    expect(
      checkProblems([check({ status: 'incompatible', messages: ['field x removed'] })]),
    ).toEqual([
      'p.prefect.asset.referenced-value: the local schema of prefect.asset.referenced is incompatible with version 2 (id 17): field x removed',
    ])
  })

  it('a subject set to another compatibility level is a problem (registering is refused)', () => {
    expect(checkProblems([check({ level: 'NONE' })])).toEqual([
      'p.prefect.asset.referenced-value: compatibility level NONE, not BACKWARD: registering (schemas register, run) is refused',
    ])
    expect(checkProblems([check({ level: undefined })])).toEqual([])
  })

  it('prints one row per subject', () => {
    expect(
      formatChecks([
        check({}),
        check({ subject: 's2', status: 'new', latest: undefined, level: undefined }),
      ]),
    ).toBe(
      [
        'SUBJECT                           STATUS      LEVEL     LATEST',
        'p.prefect.asset.referenced-value  compatible  BACKWARD  v2 (id 17)',
        's2                                new         -         -',
        '',
      ].join('\n'),
    )
  })
})

describe('schemas through main', () => {
  it('--help, exit 0; an unknown subcommand, exit 2', async () => {
    const m = memoryIo()
    expect(await main(['schemas', '-h'], m.io)).toBe(0)
    expect(m.stdout).toContain('assetstream schemas check')
    const n = memoryIo()
    expect(await main(['schemas', 'drop'], n.io)).toBe(2)
    expect(n.stderr).toContain('[usage] unknown subcommand "drop"')
  })

  it('a registry that cannot be reached: registry_unavailable, exit 1', async () => {
    const m = memoryIo({ ASSETSTREAM_REGISTRY_URL: 'http://127.0.0.1:9/apis/ccompat/v7' })
    expect(await main(['schemas', 'check'], m.io)).toBe(1)
    expect(m.stderr).toContain('[registry_unavailable]')
  })
})
