#!/usr/bin/env node
/** The executable: wires the process to `main`; the only file that touches process exit. */
import { main } from './main.js'

// Node 23 and later warn of a negative timeout, which Node has always run as 1 ms. kafkajs 2.2.4's
// request queue sets one whenever it is not throttled (`throttledUntil` is -1), so every command
// would print "TimeoutNegativeWarning: -1796… is a negative number" on Node 24. Only that warning
// type is dropped.
const emitWarning = process.emitWarning.bind(process)
process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
  const type =
    typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type
  if (type === 'TimeoutNegativeWarning') return
  ;(emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest)
}

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
