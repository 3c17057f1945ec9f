/**
 * The one error type of assetstream. Every failure the processor reports carries a code from this
 * closed list; the README's "Error codes" table documents each (a test keeps the two in step).
 */

/** Codes of rejected input messages, in the order SPEC §1 ranks them (first one wins). */
export const INPUT_ERROR_CODES = [
  'invalid_message',
  'invalid_asset_key',
  'invalid_asset_description',
  'invalid_artifact_key',
  'event_limit_exceeded',
] as const

/** Codes of operational failures: configuration, registry, broker, publishing. */
export const RUNTIME_ERROR_CODES = [
  'invalid_config',
  'usage',
  'registry_unavailable',
  'schema_incompatible',
  'schema_not_found',
  'broker_unavailable',
  'publish_failed',
  'producer_fenced',
  'consumer_crashed',
  'internal_error',
  'io_error',
] as const

export type InputErrorCode = (typeof INPUT_ERROR_CODES)[number]
export type RuntimeErrorCode = (typeof RUNTIME_ERROR_CODES)[number]
export type ErrorCode = InputErrorCode | RuntimeErrorCode

export const ERROR_CODES: readonly ErrorCode[] = [...INPUT_ERROR_CODES, ...RUNTIME_ERROR_CODES]

export interface ErrorContext {
  /** JSON path of the offending field, as `$.assets.materializes[0]`. */
  readonly path?: string
  readonly topic?: string
  readonly partition?: number
  readonly offset?: string
  readonly messageId?: string
  /** Every problem found, for errors that collect several (configuration). */
  readonly problems?: readonly string[]
  /** A transaction's commit got no answer: it may have committed (exactly once). */
  readonly commitOutcomeUnknown?: boolean
}

export interface AssetstreamErrorOptions extends ErrorContext {
  /** Whether retrying the same operation may succeed. kafkajs's retrier reads this exact name. */
  readonly retriable?: boolean
  readonly cause?: unknown
}

export class AssetstreamError extends Error {
  override readonly name = 'AssetstreamError'
  readonly code: ErrorCode
  readonly retriable: boolean
  readonly context: ErrorContext

  constructor(code: ErrorCode, message: string, options: AssetstreamErrorOptions = {}) {
    const { retriable = false, cause, ...context } = options
    super(message, cause === undefined ? undefined : { cause })
    this.code = code
    this.retriable = retriable
    this.context = context
  }

  get path(): string | undefined {
    return this.context.path
  }
}

export const isInputErrorCode = (code: string): code is InputErrorCode =>
  (INPUT_ERROR_CODES as readonly string[]).includes(code)

/**
 * `e` as an AssetstreamError: itself, or wrapped with `code` and `what` before its message (a
 * client library's rejection, or a bug), so every failure reported carries a code.
 */
export function asAssetstreamError(e: unknown, code: ErrorCode, what: string): AssetstreamError {
  if (e instanceof AssetstreamError) return e
  const message = e instanceof Error ? e.message : String(e)
  return new AssetstreamError(code, `${what}: ${message}`, { cause: e })
}
