/**
 * `assetstream schemas register|check`: the event schemas in the registry. `register` does what
 * the processor does at start (each `.avsc` under `<topic>-value`, BACKWARD) and prints the ids;
 * `check` asks whether each local schema could be registered after the subject's latest version,
 * registering nothing — for a deployment pipeline, before a new version starts.
 */
import { loadEventSchemas } from '../codec/avro-schemas.js'
import { Registry, valueSubject } from '../codec/registry.js'
import { RegistryRest, type LatestVersion } from '../codec/registry-compat.js'
import { eventTopic } from '../config/config.js'
import type { EventName } from '../derive/types.js'
import { AssetstreamError } from '../errors.js'
import type { CommandIo } from './derive.js'
import { formatTable, loadCommandLine, settingsHelpFor, type OptionSpecs } from './kafka-command.js'

/** The level the processor registers with (SPEC §3). */
export const EXPECTED_LEVEL = 'BACKWARD'

export const SCHEMAS_HELP = `Usage: assetstream schemas register [options]
       assetstream schemas check [options]

register  registers the five event schemas (avro/*.avsc) under the subjects "<topic>-value",
          with BACKWARD compatibility, as the processor does at start, and prints each
          subject's schema id. An already registered schema keeps its id.
check     checks each local event schema against the latest version of its subject, without
          registering anything, and prints per subject: "compatible", "incompatible", or
          "new" (the subject has no version yet). A subject whose compatibility level is set
          to something other than BACKWARD is a problem too: "register" and "run" refuse it.

Options:
  -h, --help                         show this help

Settings (flags override environment variables; the other settings of "run" are accepted and
ignored):
${settingsHelpFor(['registryUrl', 'topicPrefix', 'startupTimeoutMs', 'logLevel'], 'warn')}

Exit status: 0 every schema registered / compatible or new, 1 an incompatible schema, a subject
with another compatibility level, or a registry failure, 2 a usage or configuration error.
`

const OPTIONS: OptionSpecs = {}

export type CheckStatus = 'compatible' | 'incompatible' | 'new'

export interface SubjectCheck {
  readonly event: EventName
  readonly subject: string
  readonly status: CheckStatus
  readonly latest: LatestVersion | undefined
  /** The subject's own compatibility level, when it has one. */
  readonly level: string | undefined
  readonly messages: readonly string[]
}

/** Every problem of a check, one sentence each naming its subject. */
export function checkProblems(checks: readonly SubjectCheck[]): string[] {
  const problems: string[] = []
  for (const c of checks) {
    if (c.status === 'incompatible')
      problems.push(
        `${c.subject}: the local schema of ${c.event} is incompatible with version ${c.latest?.version ?? '?'} (id ${c.latest?.id ?? '?'})${c.messages.length > 0 ? `: ${c.messages.join('; ')}` : ''}`,
      )
    if (c.status !== 'new' && c.level !== undefined && c.level !== EXPECTED_LEVEL)
      problems.push(
        `${c.subject}: compatibility level ${c.level}, not ${EXPECTED_LEVEL}: registering (schemas register, run) is refused`,
      )
  }
  return problems
}

export const formatChecks = (checks: readonly SubjectCheck[]): string =>
  formatTable(
    ['SUBJECT', 'STATUS', 'LEVEL', 'LATEST'],
    checks.map((c) => [
      c.subject,
      c.status,
      c.level ?? '-',
      c.latest === undefined ? '-' : `v${c.latest.version} (id ${c.latest.id})`,
    ]),
  )

export async function runSchemas(argv: readonly string[], io: CommandIo): Promise<number> {
  const line = loadCommandLine(io.env, argv, OPTIONS)
  if (line === undefined) {
    io.stdout.write(SCHEMAS_HELP)
    return 0
  }
  const [action, ...extra] = line.positionals
  const problems: string[] = []
  if (action !== 'register' && action !== 'check')
    problems.push(
      action === undefined
        ? 'expected a subcommand: register or check'
        : `unknown subcommand ${JSON.stringify(action)} (expected register or check)`,
    )
  if (extra.length > 0) problems.push(`unexpected arguments: ${extra.join(' ')}`)
  if (problems.length > 0) throw new AssetstreamError('usage', problems.join('; '), { problems })
  const { config } = line
  const topicOf = (e: EventName) => eventTopic(config, e)

  if (action === 'register') {
    const registered = await new Registry(config.registryUrl).registerEventSchemas(topicOf)
    io.stdout.write(
      formatTable(
        ['SUBJECT', 'ID'],
        [...registered].map(([e, s]) => [valueSubject(topicOf(e)), String(s.id)]),
      ),
    )
    return 0
  }

  const rest = new RegistryRest(config.registryUrl, config.startupTimeoutMs)
  const checks: SubjectCheck[] = []
  for (const [event, schema] of loadEventSchemas()) {
    const subject = valueSubject(topicOf(event))
    const latest = await rest.latestVersion(subject)
    if (latest === undefined) {
      checks.push({ event, subject, status: 'new', latest, level: undefined, messages: [] })
      continue
    }
    const level = await rest.subjectLevel(subject)
    const verdict = await rest.checkLatest(subject, schema.text)
    checks.push({
      event,
      subject,
      status: verdict.compatible ? 'compatible' : 'incompatible',
      latest,
      level,
      messages: verdict.messages,
    })
  }
  io.stdout.write(formatChecks(checks))
  const found = checkProblems(checks)
  for (const p of found) io.stderr.write(`assetstream schemas check: ${p}\n`)
  return found.length > 0 ? 1 : 0
}
