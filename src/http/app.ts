import { randomUUID } from 'node:crypto'

import fastifyCookie from '@fastify/cookie'
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'

import type { Config } from '../config/index.js'
import { AppError } from '../errors.js'
import { stripQuery, type Logger } from '../log.js'
import type { OidcProvider } from '../oidc/provider.js'
import { buildLoginEvents, type LoginCounters } from './events.js'
import { importTransactionKey } from '../transaction.js'
import { registerLoginRoutes } from './login-routes.js'
import { registerLogoutRoutes } from './logout-routes.js'
import { registerRateLimit } from './rate-limit.js'
import { sendError, toHttpError, writeClientError } from './reply.js'

export interface AppDeps {
  config: Config
  provider: OidcProvider
  logger: Logger
  counters?: LoginCounters
  /** Milliseconds since the epoch; tests move the clock. */
  now?: () => number
}

/**
 * One access line per request, written when it completes (fastify's default adds an
 * "incoming request" line too). At `info` only refused and failed requests get one: a login's
 * outcome is already its one `auth.*` line, probes would flood the log, and at a login storm
 * three lines per login cost a tenth of the CPU. `LOG_LEVEL=debug` shows every request.
 */
class AccessLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) return super.requestCompleted(error, request, reply)
    const fields = { res: reply, responseTime: reply.elapsedTime }
    if (reply.statusCode >= 400) reply.log.info(fields, 'request completed')
    else reply.log.debug(fields, 'request completed')
  }
}

function noSchemas(): never {
  throw new Error('routes of this app take no JSON schemas: parse and check inputs by hand')
}

/** Request ids from a proxy are kept only when short and plain, so they cannot forge log lines. */
const safeRequestId = /^[A-Za-z0-9._:-]{1,64}$/
/** The routes that answer HEAD as well as GET: they only report, they change nothing. */
const probePaths = new Set(['/oidc/health', '/oidc/ready'])

/**
 * Builds the HTTP app: every route lives under `/oidc/` so one nginx location serves it all,
 * every response carries the security headers, and one handler turns errors into pages.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, provider } = deps
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new AccessLogController(),
    trustProxy: config.server.trustProxy,
    bodyLimit: 16 * 1024,
    routerOptions: { maxParamLength: 512 },
    requestIdHeader: false,
    genReqId: (request) => {
      const header = request.headers['x-request-id']
      return typeof header === 'string' && safeRequestId.test(header) ? header : randomUUID()
    },
    return503OnClosing: true,
    // Only the probes answer HEAD (below): on a login route a HEAD would have the side effects
    // of a GET (a login cookie, a redeemed code, a logout) with no page to show for them.
    exposeHeadRoutes: false,
    // No route declares a schema (inputs are parsed by hand, see jitsi/login-request.ts), so
    // fastify's default compilers would only load ajv and fast-json-stringify at start-up.
    schemaController: {
      compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas },
    },
    // Requests Node refuses before routing (headers over its 16 KB limit, bad HTTP) get our
    // JSON error and headers too, instead of fastify's bare body.
    clientErrorHandler: writeClientError,
  })

  await app.register(fastifyCookie)
  // No route takes a body: whatever its type (a provider set to response_mode=form_post sends
  // a form), it is read up to bodyLimit and dropped, so other methods get their 405, not a 415.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null))

  // On shutdown, a login in flight finishes, but its keep-alive connection must not hold the
  // server open for fastify's 72 s keep-alive timeout: answers sent while closing close it.
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })

  app.addHook('onSend', (request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    reply.header('x-request-id', request.id)
    reply.header('cache-control', 'no-store')
    // The Jitsi JWT travels in URLs: never let it leak to another site in a Referer header.
    reply.header('referrer-policy', 'no-referrer')
    reply.header('x-content-type-options', 'nosniff')
    // Only popup mode's logout page may be framed, and it says so itself (logout-routes.ts).
    if (!reply.hasHeader('x-frame-options')) reply.header('x-frame-options', 'DENY')
    // Pages bring their own policy with script hashes; JSON and redirects get the strictest.
    if (!reply.hasHeader('content-security-policy'))
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    done(null, payload)
  })

  // A URL this long is no Jitsi login: refuse it before any parsing or provider work.
  app.addHook('onRequest', async (request) => {
    if (request.url.length > config.security.maxUrlLength) {
      throw new AppError('ERR_HTTP_URI_TOO_LONG', {
        detail: `URL of ${request.url.length} chars is over HTTP_MAX_URL_LENGTH=${config.security.maxUrlLength}`,
      })
    }
  })

  registerRateLimit(app, {
    perWindow: config.security.rateLimitPerMinute,
    windowSeconds: 60,
    maxClients: config.security.rateLimitMaxClients,
    routes: ['/oidc/auth', '/oidc/redirect', '/oidc/tokenize'],
    ...(deps.now ? { now: deps.now } : {}),
  })

  // Names the service, so an admin can tell the adapter answered and not Jitsi's nginx (K30).
  app.get('/oidc/health', { exposeHeadRoute: true }, async () => ({
    status: 'ok',
    service: 'jitsi-oidc-adapter',
  }))

  app.get('/oidc/ready', { exposeHeadRoute: true }, async (_request, reply) => {
    const status = provider.status
    const ready = status.state === 'ready'
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not-ready',
      provider: status.state,
      ...(status.state === 'unavailable'
        ? { code: status.code, retryInSeconds: status.retryInSeconds }
        : {}),
    })
  })

  // Imported once: jose would otherwise import the raw key bytes on every seal and open.
  const cookieKey = await importTransactionKey(config.server.cookieKey)
  registerLoginRoutes(app, {
    config,
    cookieKey,
    provider,
    events: buildLoginEvents(deps.counters),
    ...(deps.now ? { now: deps.now } : {}),
  })

  registerLogoutRoutes(app, { config, provider, cookieKey, ...(deps.now ? { now: deps.now } : {}) })

  const homeLinks = [
    { href: config.jitsi.baseUrl.href, label: 'Back to the meeting site', primary: true },
  ]

  // Every route is a GET (the probes also HEAD); other methods learn so instead of a 404.
  app.route({
    method: ['HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: '/oidc/*',
    handler: (request, reply) => {
      reply.header('allow', probePaths.has(stripQuery(request.url)!) ? 'GET, HEAD' : 'GET')
      return sendError(request, reply, new AppError('ERR_HTTP_METHOD_NOT_ALLOWED'), homeLinks)
    },
  })

  app.setNotFoundHandler((request, reply) => {
    return sendError(request, reply, toHttpError({ statusCode: 404 }), homeLinks)
  })

  app.setErrorHandler((error, request, reply) => {
    const appError = toHttpError(error)
    const fields = { code: appError.code, reason: appError.message, path: stripQuery(request.url) }
    if (appError.status >= 500 && appError.code !== 'ERR_OIDC_PROVIDER_UNAVAILABLE') {
      request.log.error({ ...fields, err: error }, 'request failed')
    } else {
      request.log.info(fields, 'request refused')
    }
    return sendError(request, reply, appError, homeLinks)
  })

  return app
}
