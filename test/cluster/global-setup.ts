/**
 * The cluster tier needs the three-broker cluster and the registry: started when they are not up,
 * and the cluster stopped afterwards only if this run started it. ASSETSTREAM_SKIP_INTEGRATION=1
 * skips this tier with the integration tier (refused in CI: see vitest.config.ts).
 */
import { stackSetup } from '../helpers/stack-setup.js'

export default function setup(): (() => void) | undefined {
  return stackSetup({ status: 'cluster-status', up: 'cluster-up', down: 'cluster-down' })
}
