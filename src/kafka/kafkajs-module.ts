/**
 * Replacing one of kafkajs's own modules before kafkajs loads: how the kafkajs adapter carries its
 * fixes of kafkajs 2.2.4 internals (`read-committed-fix.ts`, `send-messages-fix.ts`).
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/**
 * Makes `replacement` the exports of kafkajs's module `path` (e.g. `src/producer/sendMessages.js`),
 * which `requiredBy` loads; `name` marks it, so a second evaluation (test runners) leaves it.
 * Refuses when `requiredBy` is loaded already: it would hold kafkajs's own version.
 */
export function replaceKafkajsModule(
  path: string,
  requiredBy: string,
  name: string,
  replacement: object,
): void {
  const marker = Symbol.for(`assetstream.${name}`)
  const resolved = require.resolve(`kafkajs/${path}`)
  require(resolved) // loads its module record, whose exports `requiredBy` will require
  const record = require.cache[resolved]
  if (record === undefined) throw new Error(`cannot install ${name} over ${resolved}`)
  if ((record.exports as Record<symbol, true | undefined>)[marker] === true) return
  if (require.cache[require.resolve(`kafkajs/${requiredBy}`)] !== undefined)
    throw new Error(
      `kafkajs was loaded before ${name}: import kafkajs through src/kafka/kafkajs.ts only`,
    )
  record.exports = Object.assign(replacement, { [marker]: true as const })
}
