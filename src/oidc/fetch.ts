import { AppError } from '../errors.js'

export interface ProviderFetchOptions {
  timeoutSeconds: number
  /** Public origin of the provider, as browsers and the issuer claim see it. */
  publicOrigin?: string
  /** Where the adapter reaches that origin from inside the network (K16), if elsewhere. */
  internalBaseUrl?: string
  /** Called after every call with its duration, for metrics and slow-provider warnings. */
  onResponse?: (call: { endpoint: string; status: number; durationMs: number }) => void
}

/** The shape openid-client calls (its `customFetch`), also used for our own discovery calls. */
export type ProviderFetch = (
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; signal?: AbortSignal },
) => Promise<Response>

/**
 * Builds the one `fetch` every provider call goes through: a hard timeout, the internal base URL
 * swap, and network failures turned into our codes (503 unreachable, 504 timeout). The response
 * body is the caller's to check.
 */
export function buildProviderFetch(options: ProviderFetchOptions): ProviderFetch {
  const internal = options.internalBaseUrl ? new URL(options.internalBaseUrl) : undefined

  return async (url, init) => {
    const target = internal ? rewriteOrigin(url, options.publicOrigin, internal) : url
    const endpoint = new URL(url).pathname
    const timeout = AbortSignal.timeout(options.timeoutSeconds * 1000)
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout
    const started = performance.now()

    try {
      const response = await fetch(target, { ...(init as RequestInit), signal, redirect: 'manual' })
      options.onResponse?.({
        endpoint,
        status: response.status,
        durationMs: performance.now() - started,
      })
      return response
    } catch (error) {
      if (timeout.aborted) {
        throw new AppError('ERR_OIDC_PROVIDER_TIMEOUT', {
          detail: `no answer from ${new URL(target).origin}${endpoint} within ${options.timeoutSeconds}s`,
          cause: error,
        })
      }
      throw new AppError('ERR_OIDC_PROVIDER_UNAVAILABLE', {
        detail: `cannot reach ${new URL(target).origin}${endpoint}: ${describeNetworkError(error)}`,
        cause: error,
      })
    }
  }
}

function rewriteOrigin(url: string, publicOrigin: string | undefined, internal: URL): string {
  const parsed = new URL(url)
  if (publicOrigin !== undefined && parsed.origin !== publicOrigin) return url
  const prefix = internal.pathname.replace(/\/$/, '')
  return `${internal.origin}${prefix}${parsed.pathname}${parsed.search}`
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : 'network error')
}
