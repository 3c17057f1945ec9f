/** kafkajs 2.2.4's own version of a module that src/kafka replaces (the fix sits in the module cache). */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'

const require = createRequire(import.meta.url)

export function originalKafkajsModule<T>(path: string): T {
  const resolved = require.resolve(`kafkajs/${path}`)
  const Module = require('node:module') as unknown as {
    new (id: string): {
      filename: string
      paths: string[]
      exports: unknown
      _compile(c: string, f: string): void
    }
    _nodeModulePaths(dir: string): string[]
  }
  const m = new Module(resolved)
  m.filename = resolved
  m.paths = Module._nodeModulePaths(dirname(resolved))
  m._compile(readFileSync(resolved, 'utf8'), resolved)
  return m.exports as T
}
