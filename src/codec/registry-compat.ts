/**
 * Read-only questions to a Confluent-compatible registry that the JS client does not ask: the
 * latest version of a subject, its compatibility level, and whether a schema is compatible with
 * the latest version — without registering anything. Plain REST through global fetch.
 *
 * Apicurio (ccompat v7) answers the compatibility check of a subject that does not exist with
 * `{"is_compatible": true}`, so "new" is told from the latest version's 404, not from the check.
 */
import { AssetstreamError } from '../errors.js'

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'

export interface LatestVersion {
  readonly version: number
  readonly id: number
}

export interface CompatibilityVerdict {
  readonly compatible: boolean
  /** The registry's reasons, when it gives any. */
  readonly messages: readonly string[]
}

interface Reply {
  readonly status: number
  readonly body: Record<string, unknown>
}

export class RegistryRest {
  constructor(
    readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async #call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> {
    const target = `${this.url}${path}`
    let res: Response
    try {
      res = await fetch(target, {
        method,
        headers: { Accept: CONTENT_TYPE, 'Content-Type': CONTENT_TYPE },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (e) {
      throw new AssetstreamError(
        'registry_unavailable',
        `${method} ${target}: the schema registry cannot be reached: ${(e as Error).message}`,
        { retriable: true, cause: e },
      )
    }
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text === '' ? {} : JSON.parse(text)
    } catch {
      parsed = { message: text }
    }
    const obj =
      typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : { value: parsed }
    return { status: res.status, body: obj }
  }

  #unexpected(what: string, r: Reply): AssetstreamError {
    const message = typeof r.body.message === 'string' ? r.body.message : JSON.stringify(r.body)
    return new AssetstreamError(
      'registry_unavailable',
      `${what}: the schema registry answered ${r.status}: ${message}`,
      { retriable: r.status >= 500 },
    )
  }

  /** The latest version of a subject; undefined when the subject has none (or does not exist). */
  async latestVersion(subject: string): Promise<LatestVersion | undefined> {
    const what = `latest version of ${subject}`
    const r = await this.#call('GET', `/subjects/${encodeURIComponent(subject)}/versions/latest`)
    if (r.status === 404) return undefined
    if (r.status !== 200 || typeof r.body.version !== 'number' || typeof r.body.id !== 'number')
      throw this.#unexpected(what, r)
    return { version: r.body.version, id: r.body.id }
  }

  /**
   * The compatibility level set on a subject; undefined when it has none of its own (Confluent
   * answers 404; Apicurio answers with the global level instead).
   */
  async subjectLevel(subject: string): Promise<string | undefined> {
    const r = await this.#call('GET', `/config/${encodeURIComponent(subject)}`)
    if (r.status === 404) return undefined
    const level = r.body.compatibilityLevel ?? r.body.compatibility
    if (r.status !== 200 || typeof level !== 'string')
      throw this.#unexpected(`compatibility level of ${subject}`, r)
    return level.toUpperCase()
  }

  /** Whether `schema` may be registered after the latest version of `subject` (nothing is registered). */
  async checkLatest(subject: string, schema: string): Promise<CompatibilityVerdict> {
    const r = await this.#call(
      'POST',
      `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`,
      { schema },
    )
    // 422: the schema itself is invalid (Confluent 42201) — it cannot be registered either.
    if (r.status === 422) {
      const message = typeof r.body.message === 'string' ? r.body.message : JSON.stringify(r.body)
      return { compatible: false, messages: [message] }
    }
    if (r.status !== 200 || typeof r.body.is_compatible !== 'boolean')
      throw this.#unexpected(`compatibility check of ${subject}`, r)
    const messages = Array.isArray(r.body.messages)
      ? r.body.messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m)))
      : []
    return { compatible: r.body.is_compatible, messages }
  }
}
