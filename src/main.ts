/** The command dispatcher: parses the command, maps failures to exit codes. */
import { DERIVE_HELP, runDerive, type CommandIo } from './commands/derive.js'
import { REPLAY_HELP, runReplay } from './commands/replay.js'
import { RUN_HELP, runProcessor } from './commands/run.js'
import { SCHEMAS_HELP, runSchemas } from './commands/schemas.js'
import { TAIL_HELP, runTail } from './commands/tail.js'
import { TOPICS_HELP, runTopics } from './commands/topics.js'
import { AssetstreamError, asAssetstreamError } from './errors.js'

const HELP = `Usage: assetstream <command> [options]

Derives Prefect artifact and asset events from task-run lifecycle messages.

Commands:
  run         run the processor: consume lifecycle messages, publish events (Kafka)
  derive      derive events from JSON lines on stdin, no Kafka needed
  replay      reprocess the lifecycle topic from a time or offsets, for backfill (Kafka)
  tail        print the events on the event topics, decoded, as JSON lines (Kafka)
  topics      create or verify the processor's topics (Kafka)
  schemas     register the event schemas, or check them against the registry

Run "assetstream <command> --help" for a command's options.
Exit status: 0 success, 1 runtime failure (or rejected input for derive), 2 usage or configuration error.
`

type Command = (argv: readonly string[], io: CommandIo) => Promise<number>
const COMMANDS: Readonly<Record<string, { run: Command; help: string }>> = {
  run: { run: runProcessor, help: RUN_HELP },
  derive: { run: runDerive, help: DERIVE_HELP },
  replay: { run: runReplay, help: REPLAY_HELP },
  tail: { run: runTail, help: TAIL_HELP },
  topics: { run: runTopics, help: TOPICS_HELP },
  schemas: { run: runSchemas, help: SCHEMAS_HELP },
}

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(HELP)
    return name === undefined ? 2 : 0
  }
  const command = COMMANDS[name]
  if (command === undefined) {
    io.stderr.write(`assetstream: unknown command ${JSON.stringify(name)}\n\n${HELP}`)
    return 2
  }
  try {
    return await command.run(rest, io)
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code // a Kafka client's error code is a number
    const usage = typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')
    if (usage) {
      io.stderr.write(`assetstream ${name}: ${(e as Error).message}\n\n${command.help}`)
      return 2
    }
    // Anything else is a bug: reported with its code, and its stack for the report.
    const err = asAssetstreamError(e, 'internal_error', 'unexpected failure')
    io.stderr.write(`assetstream ${name}: [${err.code}] ${err.message}\n`)
    if (!(e instanceof AssetstreamError) && e instanceof Error && e.stack !== undefined)
      io.stderr.write(`${e.stack}\n`)
    return err.code === 'invalid_config' || err.code === 'usage' ? 2 : 1
  }
}
