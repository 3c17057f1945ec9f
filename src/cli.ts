#!/usr/bin/env node
/** The executable: wires the process to `main`; the only file that touches process exit. */
import { main } from './main.js'

const code = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
})
process.exitCode = code
