/**
 * The cluster tier needs the three-broker cluster and the registry. They are started here when
 * they are not up, and the cluster is stopped afterwards only if this run started it. The
 * integration tier's ASSETSTREAM_SKIP_INTEGRATION=1 skips this tier too (refused in CI).
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const STACK = fileURLToPath(new URL('../../stack/stack.sh', import.meta.url))

const isUp = (): boolean => {
  try {
    execFileSync('bash', [STACK, 'cluster-status'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export default function setup(): (() => void) | undefined {
  if (isUp()) return undefined
  execFileSync('bash', [STACK, 'cluster-up'], { stdio: 'inherit' })
  return () => {
    execFileSync('bash', [STACK, 'cluster-down'], { stdio: 'inherit' })
  }
}
