/** The conformance cases copied from the shared contract into test/fixtures/conformance. */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const CONFORMANCE_DIR = fileURLToPath(new URL('../fixtures/conformance/', import.meta.url))

export interface ConformanceCase {
  readonly name: string
  /** Input lines, blank ones included (they count for line numbers). */
  readonly lines: readonly string[]
  readonly inputText: string
  /** Expected JSON-form events, each with its `source_line`. */
  readonly expected: readonly (Record<string, unknown> & { source_line: number })[]
  readonly rejected: readonly { line: number; code: string }[]
}

const jsonl = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown)

export function loadCases(dir: string = CONFORMANCE_DIR): ConformanceCase[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.input.jsonl'))
    .map((f) => f.slice(0, -'.input.jsonl'.length))
    .sort()
    .map((name) => {
      const inputText = readFileSync(join(dir, `${name}.input.jsonl`), 'utf8')
      const rejectedFile = join(dir, `${name}.rejected.json`)
      return {
        name,
        inputText,
        lines: inputText.split('\n'),
        expected: jsonl(
          readFileSync(join(dir, `${name}.expected.jsonl`), 'utf8'),
        ) as ConformanceCase['expected'],
        rejected: existsSync(rejectedFile)
          ? (JSON.parse(readFileSync(rejectedFile, 'utf8')) as ConformanceCase['rejected'])
          : [],
      }
    })
}

/** An expected event without its `source_line`, as the processor prints it. */
export function withoutSourceLine(e: Record<string, unknown>): Record<string, unknown> {
  const { source_line: _, ...rest } = e
  return rest
}
