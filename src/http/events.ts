import type { FastifyRequest } from 'fastify'

import { isAppError } from '../errors.js'
import type { LoginRequest } from '../jitsi/login-request.js'
import type { Decision } from '../policy/decide.js'
import type { Identity } from '../policy/identity.js'

export interface LoginSuccess {
  identity: Identity
  decision: Decision
  request: LoginRequest
  durationMs: number
}

/** Observers of the login pipeline: the log lines admins read, and the metrics they graph. */
export interface LoginEvents {
  loginStarted(request: FastifyRequest, login: LoginRequest): void
  silentLoginFellBack(request: FastifyRequest): void
  loginSucceeded(request: FastifyRequest, success: LoginSuccess): void
  loginCancelled(request: FastifyRequest, login: LoginRequest): void
  loginFailed(
    request: FastifyRequest,
    error: unknown,
    login: LoginRequest | undefined,
    durationMs: number,
    /** Who, once the provider has told us: a refusal must say whom it refused. */
    who?: Pick<Identity, 'issuer' | 'subject'>,
  ): void
}

export interface LoginCounters {
  started(client: string): void
  completed(moderator: boolean): void
  failed(code: string): void
  refused(): void
}

/**
 * Log lines say who and what, never with which credential: the IdP `sub` and issuer, the
 * room, the client's address (the proxy's, unless TRUST_PROXY names it), the outcome and its code. Cancelling at the provider is an outcome, logged at info.
 */
export function buildLoginEvents(counters?: LoginCounters): LoginEvents {
  return {
    loginStarted(request, login) {
      counters?.started(login.client)
      request.log.debug(
        {
          event: 'auth.start',
          room: login.roomSafe,
          tenant: login.tenant,
          client: login.client,
          popup: login.popup,
        },
        'login started',
      )
    },
    silentLoginFellBack(request) {
      request.log.info(
        { event: 'auth.silent_fallback' },
        'no provider session; asking interactively',
      )
    },
    loginSucceeded(request, { identity, decision, request: login, durationMs }) {
      counters?.completed(decision.moderator)
      request.log.info(
        {
          event: 'auth.success',
          iss: identity.issuer,
          sub: identity.subject,
          room: login.roomSafe,
          tenant: login.tenant,
          client: login.client,
          moderator: decision.moderator,
          rule: decision.reason,
          ip: request.ip,
          durationMs: Math.round(durationMs),
        },
        'login succeeded',
      )
    },
    loginCancelled(request, login) {
      counters?.failed('ERR_OIDC_ACCESS_DENIED')
      request.log.info(
        {
          event: 'auth.failure',
          code: 'ERR_OIDC_ACCESS_DENIED',
          room: login.roomSafe,
          ip: request.ip,
        },
        'user cancelled at the provider',
      )
    },
    loginFailed(request, error, login, durationMs, who) {
      const code = isAppError(error) ? error.code : 'ERR_INTERNAL'
      if (code === 'ERR_POLICY_DENIED') counters?.refused()
      counters?.failed(code)
      const status = isAppError(error) ? error.status : 500
      const fields = {
        event: status >= 500 ? 'auth.error' : 'auth.failure',
        code,
        reason: isAppError(error) ? error.message : 'unexpected error',
        ...(who ? { iss: who.issuer, sub: who.subject } : {}),
        room: login?.roomSafe,
        ip: request.ip,
        durationMs: Math.round(durationMs),
        ...(isAppError(error) ? {} : { err: error }),
      }
      if (status >= 500) request.log.error(fields, 'login failed')
      else if (code === 'ERR_OIDC_STATE_MISMATCH' || code === 'ERR_TX_INVALID')
        request.log.warn(fields, 'login refused: suspicious callback')
      else request.log.info(fields, 'login failed')
    },
  }
}
