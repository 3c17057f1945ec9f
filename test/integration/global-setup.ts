/**
 * The integration tier needs the real stack. It is started here when it is not up (stack.sh up is
 * idempotent), and stopped afterwards only if this run started it. ASSETSTREAM_SKIP_INTEGRATION=1
 * skips the tier outside CI; in CI (CI=true) skipping is refused: a skipped suite is a failure.
 */
import { stackSetup } from '../helpers/stack-setup.js'

export default function setup(): (() => void) | undefined {
  if (process.env.ASSETSTREAM_SKIP_INTEGRATION === '1') {
    if (process.env.CI === 'true')
      throw new Error(
        'ASSETSTREAM_SKIP_INTEGRATION=1 is refused in CI: the integration tier must run',
      )
    return undefined
  }
  return stackSetup({ status: 'status', up: 'up', down: 'down' })
}
