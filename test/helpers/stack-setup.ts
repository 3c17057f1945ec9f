/**
 * A vitest global set-up over `stack/stack.sh`: starts a part of the local stack when its status
 * says it is down, and stops it afterwards only if this run started it.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const STACK = fileURLToPath(new URL('../../stack/stack.sh', import.meta.url))

export function stackSetup(commands: {
  status: string
  up: string
  down: string
}): (() => void) | undefined {
  try {
    execFileSync('bash', [STACK, commands.status], { stdio: 'ignore' })
    return undefined // up already: left as found
  } catch {
    execFileSync('bash', [STACK, commands.up], { stdio: 'inherit' })
    return () => execFileSync('bash', [STACK, commands.down], { stdio: 'inherit' })
  }
}
