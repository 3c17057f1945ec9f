/**
 * `assetstream derive`: the processor without Kafka. Lifecycle messages as JSON lines in, JSON-form
 * events out, one per line, lineage state kept across the lines (SPEC §6).
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { parseArgs } from 'node:util'
import { decodeJson } from '../codec/lifecycle-decode.js'
import { parseBool } from '../config/env.js'
import { toJsonForm } from '../derive/json-form.js'
import { processValue } from '../pipeline/process.js'
import { MemoryLineageStore } from '../state/memory-lineage-store.js'
import { AssetstreamError } from '../errors.js'

export const DERIVE_HELP = `Usage: assetstream derive [options]

Reads task-run lifecycle messages as JSON lines (stdin, or --input), derives the Prefect
artifact and asset events they imply, keeping lineage state across the lines, and writes the
events' JSON form to stdout, one per line. Blank lines are skipped but counted.

Options:
  --input FILE        read FILE instead of stdin
  --rejects FILE      write rejected lines as {"line","code","message","path"} JSON lines to
                      FILE (default: stderr)
  --no-run-context    leave the run context out of the related resources
                      (env ASSETSTREAM_RUN_CONTEXT=false)
  -h, --help          show this help

Exit status: 0 when every line was accepted, 1 when any line was rejected, 2 on a usage error.
`

export interface CommandIo {
  readonly stdin: Readable
  readonly stdout: Writable
  readonly stderr: Writable
  readonly env: Readonly<Record<string, string | undefined>>
  /** Starts listening for SIGINT/SIGTERM; resolves with the signal's name. Long-running commands only. */
  readonly stopSignal: () => Promise<string>
}

/** Writes with back-pressure, in chunks, so millions of lines cost few syscalls. */
class LineWriter {
  #buf = ''
  constructor(private readonly out: Writable) {}
  async line(s: string): Promise<void> {
    this.#buf += s + '\n'
    if (this.#buf.length >= 65_536) await this.flush()
  }
  async flush(): Promise<void> {
    if (this.#buf === '') return
    const chunk = this.#buf
    this.#buf = ''
    if (!this.out.write(chunk)) await once(this.out, 'drain')
  }
}

export async function runDerive(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      input: { type: 'string' },
      rejects: { type: 'string' },
      'no-run-context': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    io.stdout.write(DERIVE_HELP)
    return 0
  }
  const problems: string[] = []
  const envRunContext = parseBool(
    'ASSETSTREAM_RUN_CONTEXT',
    io.env.ASSETSTREAM_RUN_CONTEXT,
    problems,
  )
  if (problems.length > 0) {
    throw new AssetstreamError(
      'invalid_config',
      `invalid configuration:\n  ${problems.join('\n  ')}`,
      { problems },
    )
  }
  const runContext = values['no-run-context'] ? false : (envRunContext ?? true)

  const input = values.input === undefined ? io.stdin : createReadStream(values.input)
  const rejectsStream = values.rejects === undefined ? undefined : createWriteStream(values.rejects)
  const out = new LineWriter(io.stdout)
  const rejects = new LineWriter(rejectsStream ?? io.stderr)
  const store = new MemoryLineageStore()
  let lineNo = 0
  let rejected = 0
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNo++
    if (line.trim() === '') continue
    const decoded = decodeJson(line)
    const outcome = decoded.ok ? processValue(decoded.value, store, { runContext }) : decoded
    if (outcome.ok) {
      for (const e of outcome.events) await out.line(JSON.stringify(toJsonForm(e)))
    } else {
      rejected++
      const { code, message, path } = outcome.rejection
      await rejects.line(JSON.stringify({ line: lineNo, code, message, path }))
    }
  }
  await out.flush()
  await rejects.flush()
  if (rejectsStream !== undefined) {
    rejectsStream.end()
    await once(rejectsStream, 'close')
  }
  return rejected > 0 ? 1 : 0
}
