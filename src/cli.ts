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
// By now everything is committed and every client disconnected. What still holds the event loop
// is not ours to wait for: kafkajs can leave a broker socket open after a broker restart (its
// pool reconnects behind a disconnect), and a crashed consumer leaves timers. Exit regardless.
setTimeout(() => {
  const open = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout')
  process.stderr.write(
    `${JSON.stringify({ level: 40, time: Date.now(), name: 'assetstream', open, msg: 'exiting with resources still open after the shutdown' })}\n`,
  )
  process.exit(code)
}, 2_000).unref()
