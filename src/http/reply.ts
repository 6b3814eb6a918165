import type { Duplex } from 'node:stream'

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import Negotiator from 'negotiator'

import { AppError, errorCatalogue, isAppError, type ErrorCode } from '../errors.js'
import { renderErrorPage, type PageLink, type RenderedPage } from './pages.js'

/** The forms of an answer, the page first: it is what a client that asks for neither gets. */
const answerTypes = ['text/html', 'application/json']

/**
 * Clients that prefer JSON to HTML get error bodies as JSON: by the Accept header's weights
 * (`application/json;q=0.1, text/html` prefers the page), then by its order.
 */
export function prefersJson(request: FastifyRequest): boolean {
  return new Negotiator(request).mediaType(answerTypes) === 'application/json'
}

export function sendPage(reply: FastifyReply, status: number, page: RenderedPage): FastifyReply {
  return reply
    .status(status)
    .header('content-security-policy', page.contentSecurityPolicy)
    .type('text/html; charset=utf-8')
    .send(page.html)
}

const titles: Partial<Record<ErrorCode, string>> = {
  ERR_OIDC_ACCESS_DENIED: 'Sign-in cancelled',
  ERR_POLICY_DENIED: 'Not allowed to host',
  ERR_TX_MISSING: 'Sign-in expired',
  ERR_OIDC_PROVIDER_UNAVAILABLE: 'Identity provider unavailable',
  ERR_OIDC_PROVIDER_TIMEOUT: 'Identity provider unavailable',
  ERR_OIDC_PROVIDER_BAD_RESPONSE: 'Identity provider unavailable',
  ERR_OIDC_ISSUER_MISMATCH: 'Identity provider unavailable',
  ERR_HTTP_NOT_FOUND: 'Page not found',
}

/**
 * Sends one of our errors as a page or JSON: the stable code, the catalogue's sentence for the
 * user, the request id and ways back. The detail and cause stay in the log.
 */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: AppError,
  links: readonly PageLink[],
): FastifyReply {
  const message = errorCatalogue[error.code].message
  if (error.code === 'ERR_HTTP_RATE_LIMITED' && !reply.hasHeader('retry-after'))
    reply.header('retry-after', '60')

  if (prefersJson(request)) {
    return reply.status(error.status).send({
      error: {
        code: error.code,
        message,
        requestId: request.id,
        links: links.map((link) => link.href),
      },
    })
  }
  const title =
    titles[error.code] ?? (error.status >= 500 ? 'Something went wrong' : 'Sign-in failed')
  return sendPage(
    reply,
    error.status,
    renderErrorPage({ title, message, code: error.code, requestId: request.id, links }),
  )
}

/** Turns anything thrown into one of ours; fastify's own 4xx keep their status class. */
export function toHttpError(error: unknown): AppError {
  if (isAppError(error)) return error
  const status = (error as { statusCode?: number })?.statusCode
  if (status === 429) return new AppError('ERR_HTTP_RATE_LIMITED')
  if (status !== undefined && status >= 400 && status < 500) {
    const code = (error as { code?: string }).code
    return new AppError(status === 404 ? 'ERR_HTTP_NOT_FOUND' : 'ERR_HTTP_BAD_REQUEST', {
      detail: `request refused by the HTTP layer${code ? ` (${code})` : ''}`,
      cause: error,
    })
  }
  return new AppError('ERR_INTERNAL', { detail: 'unexpected error', cause: error })
}

/**
 * Answers what Node refuses before fastify sees a request: headers over `maxHeaderSize` get
 * 431, other malformed HTTP 400. There is no request yet, so the answer is written on the
 * socket, as JSON with our code and the same security headers as every other answer.
 */
export function writeClientError(
  this: FastifyInstance,
  error: Error & { code?: string },
  socket: Duplex,
): void {
  // A reset or timed-out client is gone: there is no one to answer.
  if (
    error.code === 'ECONNRESET' ||
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ||
    socket.destroyed
  ) {
    socket.destroy()
    return
  }
  const code: ErrorCode =
    error.code === 'HPE_HEADER_OVERFLOW' ? 'ERR_HTTP_HEADERS_TOO_LARGE' : 'ERR_HTTP_BAD_REQUEST'
  const { status, message } = errorCatalogue[code]
  this.log.info({ event: 'http.client_error', code, reason: error.code }, 'request refused')

  const body = JSON.stringify({ error: { code, message } })
  if (socket.writable) {
    socket.write(
      [
        `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}`,
        'content-type: application/json; charset=utf-8',
        `content-length: ${Buffer.byteLength(body)}`,
        'cache-control: no-store',
        'referrer-policy: no-referrer',
        'x-content-type-options: nosniff',
        'x-frame-options: DENY',
        "content-security-policy: default-src 'none'; frame-ancestors 'none'",
        'connection: close',
        '',
        body,
      ].join('\r\n'),
    )
  }
  socket.destroy()
}
