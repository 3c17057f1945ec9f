/** The built CLI as a child process, for the operating commands (`tail`, `topics`, `schemas`). */
import { spawn, type ChildProcess } from 'node:child_process'
import { BROKERS, REGISTRY_URL, waitFor, withAdmin, type Names } from './support.js'

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname

/** The settings of a test run's topics, as environment variables. */
export const runEnv = (n: Names): Record<string, string> => ({
  ASSETSTREAM_BROKERS: BROKERS.join(','),
  ASSETSTREAM_REGISTRY_URL: REGISTRY_URL,
  ASSETSTREAM_INPUT_TOPIC: n.input,
  ASSETSTREAM_TOPIC_PREFIX: n.prefix,
  ASSETSTREAM_GROUP_ID: n.group,
  ASSETSTREAM_REPLICATION_FACTOR: '1',
})

export interface CliResult {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** A running command: its output so far, its exit. */
export class CliProcess {
  readonly child: ChildProcess
  stdout = ''
  stderr = ''
  readonly exited: Promise<CliResult>

  constructor(args: readonly string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ASSETSTREAM_LOG_LEVEL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.stdout += d))
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d))
    this.exited = new Promise((resolve) =>
      this.child.once('close', (status) =>
        resolve({ status, stdout: this.stdout, stderr: this.stderr }),
      ),
    )
  }

  get lines(): string[] {
    return this.stdout.split('\n').filter((l) => l !== '')
  }
}

/** Runs a command to its end (killed after `timeoutMs`: the test then fails on the status). */
export async function cli(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<CliResult> {
  const p = new CliProcess(args, env)
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs)
  try {
    return await p.exited
  } finally {
    clearTimeout(timer)
  }
}

export const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '')

/** The consumer groups whose id starts with `prefix`. */
export const groupsStartingWith = (prefix: string): Promise<string[]> =>
  withAdmin(async (admin) =>
    (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix)),
  )

/** Waits until a running command's stderr contains `text`. */
export const waitForLog = (p: CliProcess, text: string, timeoutMs = 60_000): Promise<true> =>
  waitFor(
    `the command to log ${JSON.stringify(text)}`,
    () => {
      if (p.child.exitCode !== null)
        throw new Error(`command exited ${p.child.exitCode}:\n${p.stderr.slice(-4000)}`)
      return p.stderr.includes(text) ? true : undefined
    },
    timeoutMs,
  )
