/** A CommandIo in memory, for running commands through `main` without a process. */
import { PassThrough, Writable } from 'node:stream'
import type { CommandIo } from '../../../src/commands/derive.js'

export function memoryIo(env: Record<string, string> = {}) {
  let stdout = ''
  let stderr = ''
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _enc, done) {
        append(chunk.toString())
        done()
      },
    })
  const io: CommandIo = {
    stdin: new PassThrough(),
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    env,
    stopSignal: () => new Promise<string>(() => undefined),
  }
  return {
    io,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
  }
}
