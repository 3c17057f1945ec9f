#!/usr/bin/env node
/** The executable: wires the process to `main`; the only file that touches process exit. */
import { main } from './main.js'

const code = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stopSignal: () =>
    new Promise<string>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const)
        process.once(signal, () => resolve(signal))
    }),
})
process.exitCode = code
// A failed long-running command may leave sockets open; do not idle with a dead consumer.
if (code !== 0) setTimeout(() => process.exit(code), 3_000).unref()
