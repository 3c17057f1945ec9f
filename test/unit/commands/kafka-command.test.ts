import { describe, expect, it } from 'vitest'
import { DEFAULTS, settingOptions } from '../../../src/config/config.js'
import {
  formatTable,
  listOption,
  loadCommandLine,
  splitCommandLine,
} from '../../../src/commands/kafka-command.js'

const OWN = {
  from: { type: 'string' },
  event: { type: 'string', multiple: true },
  follow: { type: 'boolean' },
} as const

describe('splitCommandLine', () => {
  it('separates the command options from the settings, keeping order and values', () => {
    const s = splitCommandLine(
      [
        '--brokers',
        'a:1',
        '--from=end',
        'sub',
        '--event',
        'x',
        '--no-run-context',
        '--event',
        'y,z',
        '--follow',
        '--topic-prefix=p.',
      ],
      OWN,
    )
    expect(s.values).toEqual({ from: 'end', event: ['x', 'y,z'], follow: true })
    expect(s.rest).toEqual(['--brokers', 'a:1', 'sub', '--no-run-context', '--topic-prefix=p.'])
    expect(s.help).toBe(false)
    expect(s.logLevelFlag).toBe(false)
  })

  it('sees --help / -h and --log-level', () => {
    expect(splitCommandLine(['-h'], OWN).help).toBe(true)
    expect(splitCommandLine(['--log-level', 'debug'], OWN).logLevelFlag).toBe(true)
  })

  it('throws a parseArgs error on an unknown option or a missing value', () => {
    expect(() => splitCommandLine(['--bogus'], OWN)).toThrow(
      expect.objectContaining({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }),
    )
    expect(() => splitCommandLine(['--from'], OWN)).toThrow(
      expect.objectContaining({ code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' }),
    )
  })

  it('refuses an own option that shadows a setting', () => {
    expect(() => splitCommandLine([], { brokers: { type: 'string' } })).toThrow(/already a setting/)
  })

  it('knows every setting flag', () => {
    const names = Object.keys(settingOptions())
    expect(names).toContain('registry-url')
    expect(names).toContain('run-context')
    expect(names).toContain('no-run-context')
  })
})

describe('loadCommandLine', () => {
  it('reads settings from env and flags, own options apart', () => {
    const line = loadCommandLine(
      { ASSETSTREAM_TOPIC_PREFIX: 'env.' },
      ['--brokers', 'h:9', 'verify', '--follow'],
      OWN,
    )
    expect(line?.config.brokers).toEqual(['h:9'])
    expect(line?.config.topicPrefix).toBe('env.')
    expect(line?.positionals).toEqual(['verify'])
    expect(line?.values.follow).toBe(true)
  })

  it('defaults the log level to the quiet one unless env or a flag sets it', () => {
    expect(loadCommandLine({}, [], OWN, 'warn')?.config.logLevel).toBe('warn')
    expect(loadCommandLine({ ASSETSTREAM_LOG_LEVEL: 'debug' }, [], OWN)?.config.logLevel).toBe(
      'debug',
    )
    expect(loadCommandLine({}, ['--log-level', 'info'], OWN)?.config.logLevel).toBe('info')
    expect(DEFAULTS.logLevel).toBe('info') // `run` keeps its own default
  })

  it('returns undefined on --help without reading the configuration', () => {
    expect(loadCommandLine({ ASSETSTREAM_BROKERS: 'not a broker' }, ['--help'], OWN)).toBe(
      undefined,
    )
  })

  it('reports bad settings as invalid_config', () => {
    expect(() => loadCommandLine({}, ['--brokers', 'nope'], OWN)).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    )
  })
})

describe('helpers', () => {
  it('listOption splits comma lists and drops blanks', () => {
    expect(listOption({ e: ['a,b', ' c ', ''] }, 'e')).toEqual(['a', 'b', 'c'])
    expect(listOption({}, 'e')).toEqual([])
  })

  it('formatTable aligns columns', () => {
    expect(
      formatTable(
        ['A', 'LONG'],
        [
          ['xyz', '1'],
          ['q', ''],
        ],
      ),
    ).toBe('A    LONG\nxyz  1\nq\n')
  })
})
