/** Smoke tests of the built CLI (`npm test` builds first): Node's ESM loader, not vitest's. */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadCases, withoutSourceLine } from '../helpers/conformance.js'
import { message } from '../helpers/messages.js'

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname
const cli = (args: string[], input = '', env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CLI, ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  })

const tmp = mkdtempSync(join(tmpdir(), 'assetstream-cli-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('assetstream CLI', () => {
  it('prints help listing its commands, exit 0', () => {
    const r = cli(['--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('Usage: assetstream <command>')
    expect(r.stdout).toContain('derive')
  })

  it('exits 2 on an unknown command or flag', () => {
    expect(cli(['nope']).status).toBe(2)
    const r = cli(['derive', '--bogus'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('bogus')
  })

  it('derive --help', () => {
    const r = cli(['derive', '--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('--rejects FILE')
  })

  it('derive turns a message into events on stdout', () => {
    const msg = message({
      assets: { materializes: ['s3://lake/out'], asset_deps: ['s3://lake/in'] },
    })
    const r = cli(['derive'], JSON.stringify(msg) + '\n')
    expect(r.status).toBe(0)
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; occurred: string })
    expect(events.map((e) => e.event)).toEqual([
      'prefect.asset.referenced',
      'prefect.asset.materialization.succeeded',
    ])
    expect(events[0]?.occurred).toBe('2026-11-27T08:00:00.123456Z')
  })

  it('derive writes rejects to --rejects and exits 1; to stderr without it', () => {
    const rejects = join(tmp, 'rejects.jsonl')
    const r = cli(['derive', '--rejects', rejects], '\n{nope\n')
    expect(r.status).toBe(1)
    expect(JSON.parse(readFileSync(rejects, 'utf8'))).toMatchObject({
      line: 2,
      code: 'invalid_message',
      path: '$',
    })
    const s = cli(['derive'], '{"id": 1}\n')
    expect(s.status).toBe(1)
    expect(JSON.parse(s.stderr)).toMatchObject({ line: 1, code: 'invalid_message', path: '$.id' })
  })

  it('derive --no-run-context and ASSETSTREAM_RUN_CONTEXT=false drop the run context', () => {
    const msg = JSON.stringify(message({ assets: { materializes: ['s3://lake/out'] } })) + '\n'
    for (const r of [
      cli(['derive', '--no-run-context'], msg),
      cli(['derive'], msg, { ASSETSTREAM_RUN_CONTEXT: 'false' }),
    ]) {
      expect(r.status).toBe(0)
      expect((JSON.parse(r.stdout) as { related: unknown[] }).related).toEqual([])
    }
  })

  it('derive fails at start-up on a bad setting, exit 2', () => {
    const r = cli(['derive'], '', { ASSETSTREAM_RUN_CONTEXT: 'maybe' })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('ASSETSTREAM_RUN_CONTEXT')
  })

  it('derive --input reads a file: every conformance case matches', () => {
    for (const c of loadCases()) {
      const rejects = join(tmp, `${c.name}.rejects`)
      const r = cli([
        'derive',
        '--input',
        join('test/fixtures/conformance', `${c.name}.input.jsonl`),
        '--rejects',
        rejects,
      ])
      expect(r.status, r.stderr).toBe(c.rejected.length > 0 ? 1 : 0)
      const got = r.stdout.split('\n').filter((l) => l !== '')
      expect(got).toEqual(c.expected.map((e) => JSON.stringify(withoutSourceLine(e))))
    }
  })
})

describe('the README quick start', () => {
  it('prints what the README shows', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const input = /echo '([^']+)' \\\n\s+\| node dist\/cli\.js derive/.exec(readme)?.[1]
    const shown = /```json\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(input).toBeDefined()
    const r = cli(['derive'], `${input}\n`)
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(shown)
  })
})

describe('assetstream run: configuration errors', () => {
  it('lists every problem at start-up, exit 2, before touching Kafka', () => {
    const r = cli(['run', '--log-level', 'loud'], '', {
      ASSETSTREAM_TOPIC_PARTITIONS: 'zero',
      ASSETSTREAM_BROKERS: 'nohost',
      ASSETSTREAM_REGISTRY_URL: 'ftp://x',
    })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('[invalid_config]')
    for (const what of [
      '--log-level',
      'ASSETSTREAM_TOPIC_PARTITIONS',
      'ASSETSTREAM_BROKERS',
      'ASSETSTREAM_REGISTRY_URL',
    ])
      expect(r.stderr).toContain(what)
    expect(r.stderr).toContain('4 problems')
  })

  it('run --help lists the settings with their environment variables', () => {
    const r = cli(['run', '--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('ASSETSTREAM_BROKERS')
    expect(r.stdout).toContain('--[no-]run-context')
  })
})

describe('start-up failures', () => {
  it('replay checks its own options before it connects: a usage error, broker or not', () => {
    const r = cli(['replay', '--from', 'not-a-time', '--brokers', '127.0.0.1:1'])
    expect(r.status).toBe(2)
    expect(r.stderr.trim()).toBe(
      'assetstream replay: [usage] --from: expected an RFC 3339 date-time, got "not-a-time"',
    )
  })

  it('an unreachable broker is tried for --startup-timeout-ms, then one clear line', () => {
    const started = Date.now()
    const r = cli(['tail', '--brokers', '127.0.0.1:1', '--startup-timeout-ms', '3000'])
    const took = Date.now() - started
    expect(r.status).toBe(1)
    expect(r.stderr.trim().split('\n')).toEqual([
      'assetstream tail: [broker_unavailable] Kafka at 127.0.0.1:1 cannot be reached: Connection error: connect ECONNREFUSED 127.0.0.1:1',
    ])
    expect(took).toBeGreaterThanOrEqual(3_000) // it kept trying (kafkajs alone gave up in ~1 s)
  })
})

describe('every command has its own --help', () => {
  it.each(['run', 'derive', 'replay', 'tail', 'topics', 'schemas'])('%s', (command) => {
    expect(cli(['--help']).stdout).toMatch(new RegExp(`^  ${command} `, 'm'))
    const r = cli([command, '--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(`Usage: assetstream ${command}`)
  })
})
