/**
 * docker-compose.yml and the Dockerfile against the configuration table: the processor's service
 * uses only real settings with the default topics, reaches the broker and registry services by
 * addresses they actually serve, starts after they are healthy, runs the built CLI with avro/
 * beside dist/, and publishes nothing beyond 127.0.0.1. Each check returns its problems, so the
 * last block can show that every check rejects a broken copy.
 */
import { existsSync, readFileSync } from 'node:fs'
import { posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { DEFAULTS, SETTINGS, loadConfig } from '../../../src/config/config.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const COMPOSE_FILE = 'docker-compose.yml'
const DOCKERFILE = 'Dockerfile'
const APP = 'assetstream'
const KAFKA = 'kafka'
const REGISTRY = 'schema-registry'

const read = (file: string): string => readFileSync(posix.join(ROOT, file), 'utf8')

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

interface Compose {
  readonly services: Readonly<Record<string, Obj>>
}

function asCompose(doc: unknown): Compose {
  if (!isObj(doc) || !isObj(doc.services)) throw new Error('no services map')
  const services: Record<string, Obj> = {}
  for (const [name, s] of Object.entries(doc.services)) {
    if (!isObj(s)) throw new Error(`service ${name} is not a map`)
    services[name] = s
  }
  return { services }
}

const loadCompose = (): Compose => {
  const doc: unknown = parse(read(COMPOSE_FILE))
  return asCompose(doc)
}

/** A service's environment (map or `K=V` list); null = passed through from the host. */
function envOf(service: Obj | undefined): Record<string, string | null> {
  const env = service?.environment
  const out: Record<string, string | null> = {}
  if (env === undefined) return out
  if (Array.isArray(env)) {
    for (const item of env) {
      const text = String(item)
      const eq = text.indexOf('=')
      if (eq < 0) out[text] = null
      else out[text.slice(0, eq)] = text.slice(eq + 1)
    }
  } else if (isObj(env)) {
    for (const [k, v] of Object.entries(env)) {
      out[k] =
        v === null || v === undefined
          ? null
          : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
            ? String(v)
            : JSON.stringify(v)
    }
  } else {
    throw new Error('environment is neither a map nor a list')
  }
  return out
}

/** Names other services reach a service by. */
function namesOf(c: Compose, service: string): Set<string> {
  const s = c.services[service]
  const names = new Set([service])
  if (typeof s?.hostname === 'string') names.add(s.hostname)
  if (typeof s?.container_name === 'string') names.add(s.container_name)
  return names
}

const SETTING_ENVS: ReadonlySet<string> = new Set(SETTINGS.map((s) => s.env))

// ---------------------------------------------------------------- (a) environment is real settings
function settingsProblems(c: Compose): string[] {
  const env = envOf(c.services[APP])
  const problems: string[] = []
  if (Object.keys(env).length === 0) problems.push(`${APP} has no environment`)
  for (const [k, v] of Object.entries(env)) {
    if (!SETTING_ENVS.has(k)) problems.push(`${k} is not the env of any setting`)
    if (v === null) problems.push(`${k} has no value (it would come from the host)`)
  }
  try {
    loadConfig(env as Record<string, string>, [])
  } catch (e) {
    problems.push(`loadConfig rejects the environment: ${(e as Error).message}`)
  }
  return problems
}

// ---------------------------------------------------------------- (b) topics, registry, brokers
interface Listener {
  readonly name: string
  readonly host: string
  readonly port: string
}
function listeners(text: string | null | undefined): Listener[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const m = /^([A-Za-z0-9_]+):\/\/(.*):(\d+)$/.exec(s)
      if (!m) throw new Error(`bad listener ${s}`)
      return { name: m[1]!, host: m[2]!, port: m[3]! }
    })
}

function topicProblems(c: Compose): string[] {
  const env = envOf(c.services[APP])
  const problems: string[] = []
  const expectText: Record<string, string> = {
    ASSETSTREAM_INPUT_TOPIC: DEFAULTS.inputTopic,
    ASSETSTREAM_GROUP_ID: DEFAULTS.groupId,
    ASSETSTREAM_TOPIC_PREFIX: DEFAULTS.topicPrefix,
    ASSETSTREAM_CLIENT_ID: DEFAULTS.clientId,
    ASSETSTREAM_DLQ_TOPIC: `${DEFAULTS.inputTopic}.dlq`,
    ASSETSTREAM_CHANGELOG_TOPIC: `${DEFAULTS.groupId}-lineage-changelog`,
  }
  for (const [k, want] of Object.entries(expectText)) {
    if (k in env && env[k] !== want)
      problems.push(`${k} is ${JSON.stringify(env[k])}, not the default ${JSON.stringify(want)}`)
  }
  for (const k of ['ASSETSTREAM_INPUT_TOPIC', 'ASSETSTREAM_GROUP_ID']) {
    if (!(k in env)) problems.push(`${k} is not given`)
  }
  for (const s of SETTINGS) {
    if (/topic/i.test(s.key) && !(s.env in expectText) && s.env in env)
      problems.push(`${s.env} is a topic setting without a checked default`)
  }
  // The input topic must exist (auto-creation is off and the processor does not create it).
  const creator = Object.entries(c.services).find(([, s]) => {
    const cmd = Array.isArray(s.command) ? s.command.map(String) : []
    const i = cmd.indexOf('--topic')
    return cmd.includes('--create') && i >= 0 && cmd[i + 1] === DEFAULTS.inputTopic
  })
  if (!creator) problems.push(`no service creates ${DEFAULTS.inputTopic}`)
  else if (dependsOn(c, APP)[creator[0]] !== 'service_completed_successfully')
    problems.push(`${APP} does not wait for ${creator[0]} to complete`)
  return problems
}

function registryProblems(c: Compose): string[] {
  const registry = c.services[REGISTRY]
  const url = envOf(c.services[APP]).ASSETSTREAM_REGISTRY_URL
  if (!registry) return [`no ${REGISTRY} service`]
  if (!url) return ['ASSETSTREAM_REGISTRY_URL is not given']
  const problems: string[] = []
  const u = new URL(url)
  if (!namesOf(c, REGISTRY).has(u.hostname))
    problems.push(`${url} does not name the ${REGISTRY} service`)
  const listen = envOf(registry).SCHEMA_REGISTRY_LISTENERS ?? ''
  const ports = listen.split(',').map((l) => new URL(l.trim()).port || '80')
  if (!ports.includes(u.port || '80'))
    problems.push(`${url} is not on a port the registry listens on (${listen})`)
  if (!String(registry.image).startsWith('confluentinc/cp-schema-registry:'))
    problems.push(`${REGISTRY} is not Confluent's registry, check its API path`)
  // Confluent's registry serves the API at the root (Apicurio's under /apis/ccompat/v7).
  if (u.pathname !== '/') problems.push(`${url}: Confluent's registry API is at the root`)
  return problems
}

function brokerProblems(c: Compose): string[] {
  const kafka = c.services[KAFKA]
  const brokers = envOf(c.services[APP]).ASSETSTREAM_BROKERS
  if (!kafka) return [`no ${KAFKA} service`]
  if (!brokers) return ['ASSETSTREAM_BROKERS is not given']
  const kenv = envOf(kafka)
  const advertised = listeners(kenv.KAFKA_ADVERTISED_LISTENERS)
  const bound = listeners(kenv.KAFKA_LISTENERS)
  const protocols = new Map(
    (kenv.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '').split(',').map((p) => {
      const [name = '', protocol = ''] = p.trim().split(':')
      return [name, protocol] as const
    }),
  )
  const controllers = new Set((kenv.KAFKA_CONTROLLER_LISTENER_NAMES ?? '').split(','))
  const names = namesOf(c, KAFKA)
  const problems: string[] = []
  for (const b of brokers.split(',').map((s) => s.trim())) {
    const l = advertised.find((a) => `${a.host}:${a.port}` === b)
    if (!l) {
      problems.push(`${b} is not an advertised listener of ${KAFKA}`)
      continue
    }
    if (!names.has(l.host)) problems.push(`${b} is not an in-network name of ${KAFKA}`)
    if (controllers.has(l.name)) problems.push(`${b} is the controller listener`)
    if (!bound.some((x) => x.name === l.name && x.port === l.port))
      problems.push(`${KAFKA} does not listen on ${l.name} port ${l.port}`)
    if (protocols.get(l.name) !== 'PLAINTEXT')
      problems.push(`${l.name} is not PLAINTEXT (the processor has no TLS/SASL settings)`)
  }
  // A listener advertised as localhost must be published on the same host port.
  const published = publishedPorts(kafka)
  for (const a of advertised) {
    if ((a.host === 'localhost' || a.host === '127.0.0.1') && published.get(a.port) !== a.port)
      problems.push(`${a.name} is advertised as ${a.host}:${a.port} but not published there`)
  }
  return problems
}

// ---------------------------------------------------------------- (c) image
interface Instruction {
  readonly op: string
  readonly args: string
}
interface Stage {
  readonly from: string
  readonly name: string | undefined
  readonly instructions: Instruction[]
}

function dockerStages(text: string): Stage[] {
  const lines: string[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (pending === '' && (line === '' || line.startsWith('#'))) continue
    if (line.startsWith('#')) continue // comment inside a continuation
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `
      continue
    }
    lines.push(pending + line)
    pending = ''
  }
  if (pending !== '') lines.push(pending)
  const stages: Stage[] = []
  for (const line of lines) {
    const m = /^(\S+)\s*(.*)$/.exec(line)!
    const op = m[1]!.toUpperCase()
    const args = m[2]!.trim()
    if (op === 'FROM') {
      const f = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      if (!f) throw new Error(`bad FROM ${args}`)
      stages.push({ from: f[1]!, name: f[2], instructions: [] })
    } else if (op !== 'ARG' || stages.length > 0) {
      const stage = stages.at(-1)
      if (!stage) throw new Error(`${op} before FROM`)
      stage.instructions.push({ op, args })
    }
  }
  return stages
}

const execForm = (args: string): unknown => {
  try {
    return JSON.parse(args) as unknown
  } catch {
    return args // shell form
  }
}

interface Copy {
  readonly from: string | undefined
  readonly sources: string[]
  /** Absolute destination directory of a directory source. */
  readonly dest: string
}

function finalStageLayout(stage: Stage): {
  workdir: string
  copies: Copy[]
  env: Record<string, string>
  user: string | undefined
  entrypoint: unknown
  cmd: unknown
} {
  let workdir = '/'
  const copies: Copy[] = []
  const env: Record<string, string> = {}
  let user: string | undefined
  let entrypoint: unknown
  let cmd: unknown
  for (const { op, args } of stage.instructions) {
    switch (op) {
      case 'WORKDIR':
        workdir = posix.resolve(workdir, args)
        break
      case 'COPY':
      case 'ADD': {
        const words = args.split(/\s+/)
        let from: string | undefined
        while (words[0]?.startsWith('--')) {
          const flag = words.shift()!
          if (flag.startsWith('--from=')) from = flag.slice('--from='.length)
        }
        const dest = words.pop() ?? ''
        copies.push({ from, sources: words, dest: posix.resolve(workdir, dest) })
        break
      }
      case 'ENV':
        for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/"/g, '')
        break
      case 'USER':
        user = args
        break
      case 'ENTRYPOINT':
        entrypoint = execForm(args)
        break
      case 'CMD':
        cmd = execForm(args)
        break
      default:
        break
    }
  }
  return { workdir, copies, env, user, entrypoint, cmd }
}

function imageProblems(c: Compose, dockerfile: string, dockerignore: string): string[] {
  const app = c.services[APP]
  if (!app) return [`no ${APP} service`]
  const problems: string[] = []
  const build = typeof app.build === 'string' ? { context: app.build } : app.build
  if (!isObj(build) || typeof build.context !== 'string') return [`${APP} is not built here`]
  const file = posix.normalize(
    posix.join(build.context, typeof build.dockerfile === 'string' ? build.dockerfile : DOCKERFILE),
  )
  if (file !== DOCKERFILE) problems.push(`${APP} builds from ${file}, not ./${DOCKERFILE}`)
  if (!existsSync(posix.join(ROOT, file))) problems.push(`${file} does not exist`)
  if (app.image !== undefined) problems.push(`${APP} names an image instead of building`)
  const command = typeof app.command === 'string' ? app.command.split(/\s+/) : app.command
  if (JSON.stringify(command) !== JSON.stringify(['run']))
    problems.push(`${APP} command is ${JSON.stringify(app.command)}, not ["run"]`)

  const stages = dockerStages(dockerfile)
  const final = stages.at(-1)
  if (!final) return [...problems, 'the Dockerfile has no stage']
  if (isObj(build) && build.target !== undefined && build.target !== final.name)
    problems.push(`${APP} builds stage ${JSON.stringify(build.target)}, not the final one`)
  for (const stage of stages)
    if (!/^node:24[.\d]*-/.test(stage.from))
      problems.push(`a stage is built on ${stage.from}, not node:24 (the active LTS)`)
  const layout = finalStageLayout(final)
  if (JSON.stringify(layout.entrypoint) !== JSON.stringify(['node', 'dist/cli.js']))
    problems.push(`ENTRYPOINT is ${JSON.stringify(layout.entrypoint)}`)
  if (JSON.stringify(layout.cmd) !== JSON.stringify(['run']))
    problems.push(`CMD is ${JSON.stringify(layout.cmd)}`)
  if (layout.user === undefined || layout.user === 'root' || layout.user === '0')
    problems.push('the image runs as root')
  if (layout.env.NODE_ENV !== 'production') problems.push('NODE_ENV is not production')
  const dist = posix.join(layout.workdir, 'dist')
  const avro = posix.join(layout.workdir, 'avro')
  const copied = (dest: string, ok: (cp: Copy) => boolean): boolean =>
    layout.copies.some((cp) => cp.dest === dest && ok(cp))
  if (
    !copied(
      avro,
      (cp) => cp.from === undefined && cp.sources.some((s) => /^\.?\/?avro\/?$/.test(s)),
    )
  )
    problems.push(`avro/ is not copied to ${avro} (beside dist/, where dist/cli.js runs)`)
  if (!copied(dist, (cp) => cp.from !== undefined && cp.sources.some((s) => /\/dist\/?$/.test(s))))
    problems.push(`the built dist/ is not copied to ${dist}`)
  const finalRuns = final.instructions.filter((i) => i.op === 'RUN').map((i) => i.args)
  if (!finalRuns.some((r) => /\bnpm ci\b/.test(r) && r.includes('--omit=dev')))
    problems.push('the final stage does not npm ci --omit=dev')
  const buildRuns = stages.slice(0, -1).flatMap((s) => s.instructions.filter((i) => i.op === 'RUN'))
  const ci = buildRuns.findIndex((i) => /\bnpm ci\b/.test(i.args))
  const built = buildRuns.findIndex((i) => i.args.includes('npm run build'))
  if (ci < 0 || built < ci) problems.push('no build stage runs npm ci then npm run build')
  // The image carries the processor: the benchmark and the demo stay out of it.
  if (!buildRuns.some((i) => /rm -rf dist\/bench dist\/demo/.test(i.args)))
    problems.push('the build stage leaves dist/bench and dist/demo in the image')

  const ignored = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/^\/+|\/+$/g, ''))
  for (const needed of ['avro', 'src', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    if (ignored.some((p) => p === needed || p === '*' || p === '**'))
      problems.push(`.dockerignore excludes ${needed}`)
  }
  for (const kept of ['node_modules', 'dist']) {
    if (!ignored.includes(kept)) problems.push(`.dockerignore does not exclude ${kept}`)
  }
  return problems
}

// ---------------------------------------------------------------- (d) health and start order
function dependsOn(c: Compose, service: string): Record<string, string> {
  const d = c.services[service]?.depends_on
  const out: Record<string, string> = {}
  if (Array.isArray(d)) for (const n of d) out[String(n)] = 'service_started'
  else if (isObj(d))
    for (const [n, v] of Object.entries(d))
      out[n] = isObj(v) && typeof v.condition === 'string' ? v.condition : 'service_started'
  return out
}

function hasHealthcheck(s: Obj | undefined): boolean {
  const h = s?.healthcheck
  if (!isObj(h) || h.disable === true) return false
  const test: unknown = h.test
  if (typeof test === 'string') return test.trim() !== ''
  return Array.isArray(test) && test.length > 1 && test[0] !== 'NONE'
}

function healthProblems(c: Compose): string[] {
  const problems: string[] = []
  for (const s of [KAFKA, REGISTRY]) {
    if (!hasHealthcheck(c.services[s])) problems.push(`${s} has no healthcheck`)
    if (dependsOn(c, APP)[s] !== 'service_healthy')
      problems.push(`${APP} does not wait for ${s} to be healthy`)
  }
  if (dependsOn(c, REGISTRY)[KAFKA] !== 'service_healthy')
    problems.push(`${REGISTRY} does not wait for ${KAFKA} to be healthy`)
  return problems
}

// ---------------------------------------------------------------- (e) published ports
const portText = (v: unknown): string =>
  typeof v === 'number' || typeof v === 'string' ? String(v) : ''

/** container port → host port of a service's published ports that bind 127.0.0.1. */
function publishedPorts(s: Obj): Map<string, string> {
  const out = new Map<string, string>()
  for (const p of Array.isArray(s.ports) ? s.ports : []) {
    if (typeof p === 'string') {
      const m = /^127\.0\.0\.1:(\d+):(\d+)(\/\w+)?$/.exec(p)
      if (m) out.set(m[2]!, m[1]!)
    } else if (isObj(p) && p.host_ip === '127.0.0.1' && p.published !== undefined) {
      out.set(portText(p.target), portText(p.published))
    }
  }
  return out
}

function portProblems(c: Compose): string[] {
  const problems: string[] = []
  let count = 0
  for (const [name, s] of Object.entries(c.services)) {
    if (s.network_mode === 'host') problems.push(`${name} uses the host network`)
    if (s.ports === undefined) continue
    if (!Array.isArray(s.ports)) {
      problems.push(`${name}: ports is not a list`)
      continue
    }
    for (const p of s.ports) {
      count++
      const ok =
        typeof p === 'string'
          ? /^127\.0\.0\.1:\d+(-\d+)?:\d+(-\d+)?(\/\w+)?$/.test(p)
          : isObj(p) && p.host_ip === '127.0.0.1'
      if (!ok) problems.push(`${name} publishes ${JSON.stringify(p)} beyond 127.0.0.1`)
    }
  }
  if (count === 0) problems.push('nothing is published (kafka and the registry should be)')
  return problems
}

// ---------------------------------------------------------------- tests
const compose = loadCompose()
const dockerfile = read(DOCKERFILE)
const dockerignore = read('.dockerignore')

describe('docker-compose.yml', () => {
  it('has the kafka, schema-registry and assetstream services', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining([KAFKA, REGISTRY, APP]))
  })

  it('(a) gives assetstream only setting variables, and loadConfig accepts them', () => {
    expect(settingsProblems(compose)).toEqual([])
    const env = envOf(compose.services[APP])
    expect(Object.keys(env).filter((k) => !SETTING_ENVS.has(k))).toEqual([])
    expect(() => loadConfig(env as Record<string, string>, [])).not.toThrow()
  })

  it('(b) uses the default topics and group', () => {
    expect(topicProblems(compose)).toEqual([])
    const { config } = loadConfig(envOf(compose.services[APP]) as Record<string, string>, [])
    expect(config.inputTopic).toBe(DEFAULTS.inputTopic)
    expect(config.groupId).toBe(DEFAULTS.groupId)
    expect(config.topicPrefix).toBe(DEFAULTS.topicPrefix)
    expect(config.dlqTopic).toBe(`${DEFAULTS.inputTopic}.dlq`)
    expect(config.changelogTopic).toBe(`${DEFAULTS.groupId}-lineage-changelog`)
  })

  it('(b) points the registry URL at the schema-registry service (API at the root)', () => {
    expect(registryProblems(compose)).toEqual([])
    expect(envOf(compose.services[APP]).ASSETSTREAM_REGISTRY_URL).toBe(
      'http://schema-registry:8081',
    )
  })

  it("(b) points the brokers at kafka's advertised in-network listener", () => {
    expect(brokerProblems(compose)).toEqual([])
    const { config } = loadConfig(envOf(compose.services[APP]) as Record<string, string>, [])
    expect(config.brokers).toEqual(['kafka:9092'])
  })

  it('(c) builds assetstream from the Dockerfile, which runs dist/cli.js with avro/ beside it', () => {
    expect(imageProblems(compose, dockerfile, dockerignore)).toEqual([])
    const final = dockerStages(dockerfile).at(-1)!
    expect(finalStageLayout(final).entrypoint).toEqual(['node', 'dist/cli.js'])
  })

  it('(d) starts assetstream after healthy kafka and schema-registry', () => {
    expect(healthProblems(compose)).toEqual([])
    expect(dependsOn(compose, APP)).toMatchObject({
      [KAFKA]: 'service_healthy',
      [REGISTRY]: 'service_healthy',
    })
  })

  it('(e) publishes ports on 127.0.0.1 only', () => {
    expect(portProblems(compose)).toEqual([])
  })

  it("checks assetstream's health on its /readyz, at the configured metrics port, on all interfaces", () => {
    const { config } = loadConfig(envOf(compose.services[APP]) as Record<string, string>, [])
    expect(config.metricsHost).toBe('0.0.0.0')
    const test = (compose.services[APP]?.healthcheck as { test?: unknown } | undefined)?.test
    expect(JSON.stringify(test)).toContain(`http://127.0.0.1:${config.metricsPort}/readyz`)
  })
})

describe('the compose checks reject a broken copy', () => {
  const mutate = (edit: (c: { services: Record<string, Obj> }) => void): Compose => {
    const copy = structuredClone(compose) as { services: Record<string, Obj> }
    edit(copy)
    return copy
  }
  const setEnv = (c: { services: Record<string, Obj> }, service: string, k: string, v: unknown) => {
    const s = c.services[service]!
    s.environment = { ...(s.environment as Obj), [k]: v }
  }

  it('environment given as a K=V list reads the same', () => {
    const asList = mutate((c) => {
      const app = c.services[APP]!
      app.environment = Object.entries(envOf(app)).map(([k, v]) => `${k}=${v ?? ''}`)
    })
    expect(envOf(asList.services[APP])).toEqual(envOf(compose.services[APP]))
    expect(settingsProblems(asList)).toEqual([])
  })

  it.each<[string, (c: { services: Record<string, Obj> }) => void]>([
    ['an unknown variable', (c) => setEnv(c, APP, 'ASSETSTREAM_BROKER', 'kafka:9092')],
    ['a host pass-through', (c) => setEnv(c, APP, 'ASSETSTREAM_LOG_LEVEL', null)],
    ['an invalid value', (c) => setEnv(c, APP, 'ASSETSTREAM_LOG_LEVEL', 'verbose')],
  ])('(a) %s', (_, edit) => {
    expect(settingsProblems(mutate(edit))).not.toEqual([])
  })

  it.each<[string, (c: { services: Record<string, Obj> }) => void]>([
    ['another input topic', (c) => setEnv(c, APP, 'ASSETSTREAM_INPUT_TOPIC', 'lifecycle')],
    ['another group', (c) => setEnv(c, APP, 'ASSETSTREAM_GROUP_ID', 'g')],
    ['a topic prefix', (c) => setEnv(c, APP, 'ASSETSTREAM_TOPIC_PREFIX', 'dev.')],
    ['another DLQ topic', (c) => setEnv(c, APP, 'ASSETSTREAM_DLQ_TOPIC', 'dead')],
    ['no input topic creation', (c) => void delete c.services['create-topics']],
  ])('(b) %s', (_, edit) => {
    expect(topicProblems(mutate(edit))).not.toEqual([])
  })

  it.each<[string, (c: { services: Record<string, Obj> }) => void]>([
    [
      'the Apicurio path',
      (c) =>
        setEnv(c, APP, 'ASSETSTREAM_REGISTRY_URL', 'http://schema-registry:8081/apis/ccompat/v7'),
    ],
    ['localhost', (c) => setEnv(c, APP, 'ASSETSTREAM_REGISTRY_URL', 'http://localhost:8081')],
    [
      'another port',
      (c) => setEnv(c, APP, 'ASSETSTREAM_REGISTRY_URL', 'http://schema-registry:8080'),
    ],
  ])('(b) registry: %s', (_, edit) => {
    expect(registryProblems(mutate(edit))).not.toEqual([])
  })

  it.each<[string, (c: { services: Record<string, Obj> }) => void]>([
    ['the external listener', (c) => setEnv(c, APP, 'ASSETSTREAM_BROKERS', 'localhost:29092')],
    ['an unadvertised port', (c) => setEnv(c, APP, 'ASSETSTREAM_BROKERS', 'kafka:9094')],
    ['the controller', (c) => setEnv(c, APP, 'ASSETSTREAM_BROKERS', 'kafka:9093')],
    ['an advertised localhost not published', (c) => void (c.services[KAFKA]!.ports = [])],
  ])('(b) brokers: %s', (_, edit) => {
    expect(brokerProblems(mutate(edit))).not.toEqual([])
  })

  it.each<[string, (c: { services: Record<string, Obj> }) => void, string, string]>([
    [
      'an image instead of a build',
      (c) => void (c.services[APP]!.image = 'assetstream:latest'),
      dockerfile,
      dockerignore,
    ],
    [
      'another Dockerfile',
      (c) => void (c.services[APP]!.build = { context: '.', dockerfile: 'bench/Dockerfile' }),
      dockerfile,
      dockerignore,
    ],
    [
      'another command',
      (c) => void (c.services[APP]!.command = ['derive']),
      dockerfile,
      dockerignore,
    ],
    [
      'a shell-form entrypoint',
      () => {},
      dockerfile.replace(/^ENTRYPOINT .*$/m, 'ENTRYPOINT node dist/cli.js'),
      dockerignore,
    ],
    ['avro/ not copied', () => {}, dockerfile.replace(/^COPY avro .*$/m, ''), dockerignore],
    [
      'avro/ copied elsewhere',
      () => {},
      dockerfile.replace(/^COPY avro .*$/m, 'COPY avro ./schemas'),
      dockerignore,
    ],
    ['running as root', () => {}, dockerfile.replace(/^USER .*$/m, ''), dockerignore],
    ['dev dependencies shipped', () => {}, dockerfile.replace('--omit=dev', ''), dockerignore],
    ['avro/ ignored', () => {}, dockerfile, `${dockerignore}\navro/\n`],
  ])('(c) %s', (_, edit, file, ignore) => {
    expect(imageProblems(mutate(edit), file, ignore)).not.toEqual([])
  })

  it.each<[string, (c: { services: Record<string, Obj> }) => void]>([
    ['kafka without healthcheck', (c) => void delete c.services[KAFKA]!.healthcheck],
    [
      'registry healthcheck disabled',
      (c) => void (c.services[REGISTRY]!.healthcheck = { disable: true }),
    ],
    ['a short depends_on list', (c) => void (c.services[APP]!.depends_on = [KAFKA, REGISTRY])],
  ])('(d) %s', (_, edit) => {
    expect(healthProblems(mutate(edit))).not.toEqual([])
  })

  it.each<[string, (c: { services: Record<string, Obj> }) => void]>([
    ['all interfaces', (c) => void (c.services[REGISTRY]!.ports = ['8081:8081'])],
    ['0.0.0.0', (c) => void (c.services[KAFKA]!.ports = ['0.0.0.0:29092:29092'])],
    [
      'long form without host_ip',
      (c) => void (c.services[APP]!.ports = [{ target: 9464, published: 9464 }]),
    ],
    ['the host network', (c) => void (c.services[APP]!.network_mode = 'host')],
  ])('(e) %s', (_, edit) => {
    expect(portProblems(mutate(edit))).not.toEqual([])
  })
})
