import type { FastifyInstance } from 'fastify'

import { AppError } from '../errors.js'

export interface RateLimitOptions {
  /** Requests one client may make per window; 0 turns the limiter off. */
  perWindow: number
  windowSeconds: number
  /** Clients remembered at once; past this the oldest window is forgotten first. */
  maxClients: number
  /** Only these route URLs are counted. */
  routes: readonly string[]
  /** Milliseconds since the epoch; tests move the clock. */
  now?: () => number
}

interface Window {
  startedMs: number
  count: number
}

/**
 * A fixed-window counter per client address, in memory and bounded. Entries sit in the map in
 * the order their window started, so expired ones are swept from the front; when the map is
 * full the oldest client is forgotten, which can only ever let a request through, never block
 * one wrongly. Each replica counts on its own.
 */
export class RateLimiter {
  readonly #windows = new Map<string, Window>()

  constructor(private readonly options: Omit<RateLimitOptions, 'routes'>) {}

  /** Counts one request; returns 0 when it may pass, else the seconds until it may retry. */
  take(client: string): number {
    const now = this.options.now?.() ?? Date.now()
    const windowMs = this.options.windowSeconds * 1000
    this.#sweep(now - windowMs)

    let window = this.#windows.get(client)
    if (!window) {
      if (this.#windows.size >= this.options.maxClients) {
        this.#windows.delete(this.#windows.keys().next().value!)
      }
      window = { startedMs: now, count: 0 }
      this.#windows.set(client, window)
    }

    window.count += 1
    if (window.count <= this.options.perWindow) return 0
    return Math.max(1, Math.ceil((window.startedMs + windowMs - now) / 1000))
  }

  get size(): number {
    return this.#windows.size
  }

  #sweep(expiredBeforeMs: number): void {
    for (const [client, window] of this.#windows) {
      if (window.startedMs > expiredBeforeMs) return
      this.#windows.delete(client)
    }
  }
}

/**
 * Limits the login routes per client address. `request.ip` is the socket's address, or the
 * client's from `X-Forwarded-For` only when `TRUST_PROXY` trusts the proxy that sent it, so a
 * client cannot pick its own key by sending that header.
 */
export function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): void {
  if (options.perWindow <= 0) return
  const limiter = new RateLimiter(options)
  const routes = new Set(options.routes)

  app.addHook('onRequest', async (request, reply) => {
    if (!routes.has(request.routeOptions.url ?? '')) return
    const retryAfterSeconds = limiter.take(request.ip)
    if (retryAfterSeconds === 0) return
    reply.header('retry-after', String(retryAfterSeconds))
    throw new AppError('ERR_HTTP_RATE_LIMITED', {
      detail: `more than ${options.perWindow} requests in ${options.windowSeconds}s from one client`,
    })
  })
}
