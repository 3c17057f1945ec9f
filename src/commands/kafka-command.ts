/**
 * The command line of the operating commands (`tail`, `topics`, `schemas`): the Kafka settings of
 * `loadConfig` (the same table as `run`, so one environment serves every command) plus options of
 * the command's own. The two are told apart by one strict parse over both option sets; the
 * settings part is then handed to `loadConfig` unchanged.
 */
import { parseArgs } from 'node:util'
import {
  defaultText,
  loadConfig,
  settingOptions,
  SETTINGS,
  type Config,
  type LogLevel,
  type OptionSpecs,
} from '../config/config.js'

export type { OptionSpecs }
export type OptionValues = Readonly<
  Record<string, string | boolean | (string | boolean)[] | undefined>
>

export interface SplitCommandLine {
  /** The command's own options, parsed. */
  readonly values: OptionValues
  /** Everything else (settings and positionals), in order, for `loadConfig`. */
  readonly rest: readonly string[]
  readonly help: boolean
  /** Whether the log level was set on the command line. */
  readonly logLevelFlag: boolean
}

/**
 * Splits `argv` into the command's options and the rest. Throws Node's ERR_PARSE_ARGS_* errors
 * (an unknown option, a missing value), which `main` reports as usage errors.
 */
export function splitCommandLine(argv: readonly string[], own: OptionSpecs): SplitCommandLine {
  const settings = settingOptions()
  for (const name of Object.keys(own)) {
    if (name in settings || name === 'help')
      throw new Error(`option --${name} is already a setting`)
  }
  const { tokens } = parseArgs({
    args: [...argv],
    options: { ...settings, ...own, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: true,
    tokens: true,
  })
  const mine: string[] = []
  const rest: string[] = []
  let help = false
  let logLevelFlag = false
  for (const t of tokens) {
    if (t.kind === 'option') {
      const span = argv.slice(t.index, t.index + (t.inlineValue === false ? 2 : 1))
      if (t.name === 'help') help = true
      else if (t.name in own) mine.push(...span)
      else {
        if (t.name === 'log-level') logLevelFlag = true
        rest.push(...span)
      }
    } else if (t.kind === 'positional') {
      // A positional after `--` stays one: keep the terminator with the rest.
      rest.push(t.value)
    } else {
      rest.push('--')
    }
  }
  const { values } = parseArgs({ args: mine, options: own, strict: true })
  return { values, rest, help, logLevelFlag }
}

export interface CommandLine {
  readonly config: Config
  readonly values: OptionValues
  readonly positionals: readonly string[]
}

/**
 * The full command line of an operating command, or undefined when `--help` was given (then the
 * configuration is not read, so help works whatever the environment holds). The log level
 * defaults to `quietLevel` unless the environment or a flag sets it: these commands write their
 * results to stdout and need kafkajs's start-up chatter on stderr only when asked.
 */
export function loadCommandLine(
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[],
  own: OptionSpecs,
  quietLevel: LogLevel = 'warn',
): CommandLine | undefined {
  const split = splitCommandLine(argv, own)
  if (split.help) return undefined
  const { config, positionals } = loadConfig(env, split.rest)
  const levelSet =
    split.logLevelFlag ||
    (env.ASSETSTREAM_LOG_LEVEL !== undefined && env.ASSETSTREAM_LOG_LEVEL !== '')
  return {
    config: levelSet ? config : Object.freeze({ ...config, logLevel: quietLevel }),
    values: split.values,
    positionals,
  }
}

/** The help lines of some settings, in the format of `settingsHelp`. */
export function settingsHelpFor(keys: readonly (keyof Config)[], quietLevel?: LogLevel): string {
  return SETTINGS.filter((s) => keys.includes(s.key))
    .map((s) => {
      const flag = 'boolean' in s ? `--[no-]${s.flag}` : `--${s.flag} VALUE`
      const def = s.key === 'logLevel' && quietLevel !== undefined ? quietLevel : defaultText(s.key)
      return `  ${flag.padEnd(34)} ${s.doc}\n  ${''.padEnd(34)} env ${s.env}, default ${def}`
    })
    .join('\n')
}

/** A string option given once (the last one wins, as for settings). */
export function lastString(values: OptionValues, name: string): string | undefined {
  const v = values[name]
  if (Array.isArray(v)) {
    const last = v[v.length - 1]
    return typeof last === 'string' ? last : undefined
  }
  return typeof v === 'string' ? v : undefined
}

/** Every value of a repeatable option, comma lists split, blanks dropped. */
export function listOption(values: OptionValues, name: string): string[] {
  const v = values[name]
  const raw = v === undefined ? [] : Array.isArray(v) ? v : [v]
  return raw
    .filter((x): x is string => typeof x === 'string')
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter((x) => x !== '')
}

/** A plain-text table: a header row and left-aligned columns two spaces apart. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}
