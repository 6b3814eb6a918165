import { existsSync, readFileSync } from 'node:fs'
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { rootCertificates } from 'node:tls'

import { AppError } from '../errors.js'

export interface ProviderFetchOptions {
  timeoutSeconds: number
  /** Public origin of the provider, as browsers and the issuer claim see it. */
  publicOrigin?: string
  /** Where the adapter reaches that origin from inside the network (K16), if elsewhere. */
  internalBaseUrl?: string
  /** A PEM bundle of extra CAs that may sign the provider's certificate (K17). */
  caFile?: string
  /** Called after every answered call with its duration, for metrics and slow-provider warnings. */
  onResponse?: (call: { endpoint: string; status: number; durationMs: number }) => void
}

/** The shape openid-client calls (its `customFetch`), also used for our own discovery calls. */
export type ProviderFetch = (
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; signal?: AbortSignal },
) => Promise<Response>

/** A provider answer larger than this is refused: discovery, JWKS and tokens are small. */
const maxBodyBytes = 1024 * 1024

/**
 * An idle connection to the provider is dropped after this long, or sooner when the provider
 * announces a shorter `Keep-Alive: timeout`, so a request is not sent on a connection the
 * provider is closing.
 */
const idleConnectionMs = 4000

/**
 * Builds the one `fetch` every provider call goes through: keep-alive connections, a hard
 * timeout over the whole exchange, a bounded body, the internal base URL swap, and failures
 * turned into our codes (503 unreachable, 504 timeout, 502 broken answer). It uses Node's own
 * HTTP client rather than the WHATWG `fetch`, whose stream machinery cost a fifth of the CPU
 * of a login in the benchmark, or the undici package, which added 18 MB to the idle process;
 * the answer is handed back as a fully read `Response`.
 */
export function buildProviderFetch(options: ProviderFetchOptions): ProviderFetch {
  const internal = options.internalBaseUrl ? new URL(options.internalBaseUrl) : undefined
  const ca = options.caFile ? buildCaList(options.caFile) : undefined
  const connections: Connections = {
    'http:': new HttpAgent({ keepAlive: true, timeout: idleConnectionMs }),
    'https:': new HttpsAgent({ keepAlive: true, timeout: idleConnectionMs, ...(ca && { ca }) }),
    ...(ca && { ca }),
  }

  return async (url, init) => {
    const requested = new URL(url)
    const target = internal ? rewriteOrigin(requested, options.publicOrigin, internal) : requested
    const endpoint = requested.pathname
    const where = `${target.origin}${endpoint}`
    init.signal?.throwIfAborted()
    // A timer cleared when the exchange ends, not `AbortSignal.timeout()`: that one stays
    // armed after the answer and, when it fires, builds a DOMException with a stack trace for
    // nobody (measurable at a login storm). A caller's signal ends the call too.
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(), options.timeoutSeconds * 1000)
    const onCallerAbort = () => deadline.abort()
    init.signal?.addEventListener('abort', onCallerAbort, { once: true })
    const started = performance.now()

    const failure = (error: unknown, kind: 'unreachable' | 'broken'): unknown => {
      if (init.signal?.aborted) return init.signal.reason
      if (deadline.signal.aborted) return timeoutError(where, options.timeoutSeconds, error)
      const reason = describeNetworkError(error)
      // An answer Node's HTTP parser refuses (HPE_*) was an answer: broken, not unreachable.
      if (kind === 'broken' || reason.startsWith('HPE_') || error instanceof NoHttpAnswer) {
        return new AppError('ERR_OIDC_PROVIDER_BAD_RESPONSE', {
          detail: `broken answer from ${where}: ${reason}`,
          cause: error,
        })
      }
      return new AppError('ERR_OIDC_PROVIDER_UNAVAILABLE', {
        detail: `cannot reach ${where}: ${reason}`,
        cause: error,
      })
    }

    let answer: IncomingMessage
    let body: Buffer
    try {
      try {
        answer = await send(target, connections, { ...init, signal: deadline.signal })
      } catch (error) {
        throw failure(error, 'unreachable')
      }
      try {
        body = await readBounded(answer)
      } catch (error) {
        throw failure(error, 'broken')
      }
    } finally {
      clearTimeout(timer)
      init.signal?.removeEventListener('abort', onCallerAbort)
    }

    const status = answer.statusCode ?? 0
    options.onResponse?.({ endpoint, status, durationMs: performance.now() - started })
    // The WHATWG Response takes 200-599 only; anything else from a provider is no answer.
    if (status < 200 || status > 599) {
      throw new AppError('ERR_OIDC_PROVIDER_BAD_RESPONSE', {
        detail: `broken answer from ${where}: HTTP status ${status}`,
      })
    }
    return new Response(bodilessStatuses.has(status) ? null : new Uint8Array(body), {
      status,
      headers: toHeaders(answer.headers),
    })
  }
}

/** The provider said something that Node's client does not hand over as an HTTP answer. */
class NoHttpAnswer extends Error {}

interface Connections {
  'http:': HttpAgent
  'https:': HttpsAgent
  /** The trusted CAs when OIDC_CA_FILE is set, also for a retry's one-off connection. */
  ca?: string[]
}

const bodilessStatuses = new Set([204, 205, 304])

/**
 * Node's default trust plus the CA file. Passing `ca` replaces Node's default list, so the
 * Mozilla roots and a NODE_EXTRA_CA_CERTS bundle the admin also set are added back here.
 */
function buildCaList(caFile: string): string[] {
  const extra = process.env['NODE_EXTRA_CA_CERTS']
  return [
    ...rootCertificates,
    ...(extra && existsSync(extra) ? [readFileSync(extra, 'utf8')] : []),
    readFileSync(caFile, 'utf8'),
  ]
}

/**
 * A kept-alive connection the provider closed while it sat idle fails at once when reused
 * (a provider may close sooner than it announces, or announce nothing).
 */
const staleConnectionErrors = new Set(['ECONNRESET', 'EPIPE'])

/** Methods that may be sent twice (RFC 9110 §9.2.2); the token request is a POST. */
const idempotentMethods = new Set(['GET', 'HEAD'])

/**
 * Sends one request and resolves with the answer's head; its body is still to be read. A GET
 * that failed on a reused connection before any answer is sent once more, on a new connection
 * of its own (Node's documented use of `reusedSocket`; other pooled connections may be just as
 * stale). A POST is not: a provider that reset the connection may still have seen the request.
 */
function send(
  target: URL,
  connections: Connections,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; signal: AbortSignal },
  retry = true,
): Promise<IncomingMessage> {
  const secure = target.protocol === 'https:'
  if (!secure && target.protocol !== 'http:') {
    return Promise.reject(new Error(`unsupported URL scheme ${target.protocol}`))
  }
  const method = init.method ?? 'GET'
  const body = toRequestBody(init.body)
  const headers: Record<string, string | number> = { ...init.headers }
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body)

  return new Promise((resolve, reject) => {
    let answered = false
    const request = (secure ? httpsRequest : httpRequest)(target, {
      // The retry's own connection: `agent: false` opens one outside the pool.
      agent: retry ? connections[secure ? 'https:' : 'http:'] : false,
      ...(!retry && connections.ca && { ca: connections.ca }),
      method,
      headers,
      signal: init.signal,
    })
    request.once('response', (answer) => {
      answered = true
      resolve(answer)
    })
    request.on('error', (error: NodeJS.ErrnoException) => {
      const stale =
        retry &&
        !answered &&
        idempotentMethods.has(method) &&
        request.reusedSocket &&
        staleConnectionErrors.has(error.code ?? '') &&
        !init.signal.aborted
      if (stale) resolve(send(target, connections, init, false))
      else reject(error)
    })
    // An answer Node does not hand over as a response (an unasked `101 Switching Protocols`)
    // ends the request with neither a response nor an error: without this the call would
    // wait forever, past the deadline, which can no longer abort a finished request.
    request.once('close', () => {
      if (!answered) {
        reject(new NoHttpAnswer('the connection ended without an HTTP answer'))
      }
    })
    request.end(body)
  })
}

function toRequestBody(body: unknown): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined
  if (typeof body === 'string' || body instanceof Uint8Array) return body
  if (body instanceof URLSearchParams) return body.toString()
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  throw new TypeError('unsupported request body for the provider')
}

async function readBounded(answer: IncomingMessage): Promise<Buffer> {
  if (Number(answer.headers['content-length']) > maxBodyBytes) {
    answer.destroy()
    throw new Error(`answer announced as larger than ${maxBodyBytes} bytes`)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of answer as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBodyBytes) {
      answer.destroy()
      throw new Error(`answer larger than ${maxBodyBytes} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const item of value) headers.append(name, item)
    else if (value !== undefined) headers.append(name, value)
  }
  return headers
}

function timeoutError(where: string, seconds: number, cause: unknown): AppError {
  return new AppError('ERR_OIDC_PROVIDER_TIMEOUT', {
    detail: `no answer from ${where} within ${seconds}s`,
    cause,
  })
}

function rewriteOrigin(url: URL, publicOrigin: string | undefined, internal: URL): URL {
  if (publicOrigin !== undefined && url.origin !== publicOrigin) return url
  const prefix = internal.pathname.replace(/\/$/, '')
  return new URL(`${internal.origin}${prefix}${url.pathname}${url.search}`)
}

function describeNetworkError(error: unknown): string {
  const { code, cause } = (error ?? {}) as { code?: string; cause?: { code?: string } }
  const reason = cause?.code ?? code ?? (error instanceof Error ? error.message : 'network error')
  return tlsVerifyErrors.has(reason)
    ? `${reason}: the provider's certificate is not trusted; for a private CA set OIDC_CA_FILE (or NODE_EXTRA_CA_CERTS)`
    : reason
}

/** OpenSSL's answers for a certificate chain the adapter cannot verify (K17). */
const tlsVerifyErrors = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
])
