import type { FastifyReply, FastifyRequest } from 'fastify'

import { AppError, errorCatalogue, isAppError, type ErrorCode } from '../errors.js'
import { renderErrorPage, type PageLink, type RenderedPage } from './pages.js'

/** Clients that ask for JSON (and not for HTML first) get error bodies as JSON. */
export function prefersJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? ''
  const json = accept.indexOf('application/json')
  const html = accept.indexOf('text/html')
  return json !== -1 && (html === -1 || json < html)
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
  if (error.code === 'ERR_HTTP_RATE_LIMITED') reply.header('retry-after', '60')

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
