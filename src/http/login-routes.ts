import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

import type { Config } from '../config/index.js'
import { AppError } from '../errors.js'
import { buildStateJson, parseLoginRequest, type LoginRequest } from '../jitsi/login-request.js'
import {
  buildGuestLink,
  buildReturnTarget,
  buildRoomUrl,
  type ReturnTarget,
} from '../jitsi/return.js'
import { assertProsodyAccepts, buildJitsiClaims, signJitsiToken } from '../jitsi/token.js'
import {
  assertCallbackShape,
  buildAuthorizationRequest,
  completeAuthorization,
} from '../oidc/login.js'
import type { OidcProvider } from '../oidc/provider.js'
import { decideAccess } from '../policy/decide.js'
import { buildIdentity, mergeClaims, type Identity } from '../policy/identity.js'
import {
  buildTransactionCookieName,
  findTransactionCookieName,
  openTransaction,
  sealTransaction,
  selectStaleTransactionCookies,
  transactionCookiePrefix,
  transactionTtlSeconds,
  type Transaction,
  type TransactionKey,
} from '../transaction.js'
import { buildCookieOptions, setLogoutCookie } from './logout-routes.js'
import { renderReturnPage, sendPopupError } from './return-pages.js'
import { sendError, sendPage } from './reply.js'
import type { LoginEvents } from './events.js'

export interface LoginRouteDeps {
  config: Config
  provider: OidcProvider
  events: LoginEvents
  cookieKey: TransactionKey
  now?: () => number
}

const callbackPaths = ['/oidc/redirect', '/oidc/tokenize']

/**
 * The login pipeline's two HTTP steps: `/oidc/auth` turns Jitsi's request into a sealed
 * transaction and a redirect to the provider; the callback turns the provider's answer into
 * a Jitsi token and the way back to the room (see DESIGN.md).
 */
export function registerLoginRoutes(app: FastifyInstance, deps: LoginRouteDeps): void {
  const { config, provider, events } = deps
  const nowMs = () => deps.now?.() ?? Date.now()
  const nowSeconds = () => Math.floor(nowMs() / 1000)

  const cookieKey = deps.cookieKey
  const cookieOptions = buildCookieOptions(config)

  async function startLogin(
    reply: FastifyReply,
    request: LoginRequest,
    silent: boolean,
    prompt?: 'login' | 'select_account',
  ) {
    const configuration = provider.requireConfiguration()
    const authorization = buildAuthorizationRequest(
      configuration,
      config.oidc,
      config.jitsi.redirectUri,
      { silent, ...(prompt ? { prompt } : {}) },
    )
    const transaction: Transaction = {
      state: authorization.state,
      nonce: authorization.nonce,
      codeVerifier: authorization.codeVerifier,
      request,
      ...(silent ? { silent } : {}),
    }
    const sealed = await sealTransaction(transaction, cookieKey, nowSeconds())
    const name = buildTransactionCookieName(authorization.state, nowMs())

    // Abandoned logins would pile up until every /oidc/ request passed Node's 16 KB header
    // limit (431) for ten minutes, and any site can start logins here. The oldest go first:
    // their names sort by start time, so a sixth tab costs only the first tab's login.
    for (const stale of selectStaleTransactionCookies(
      reply.request.cookies,
      name.length + sealed.length + 1,
    )) {
      reply.clearCookie(stale, cookieOptions)
    }
    return reply
      .setCookie(name, sealed, {
        ...cookieOptions,
        maxAge: transactionTtlSeconds,
      })
      .redirect(authorization.url.href, 302)
  }

  app.get('/oidc/auth', async (request, reply) => {
    const loginRequest = parseLoginRequest(
      request.query as Record<string, unknown>,
      rawQuery(request.url),
    )
    events.loginStarted(request, loginRequest)
    // Only the prompts our own retry links ask for; anything else is the configured default.
    const asked = (request.query as Record<string, unknown>)['prompt']
    const prompt = asked === 'login' || asked === 'select_account' ? asked : undefined
    return startLogin(reply, loginRequest, prompt ? false : config.oidc.silentLogin, prompt)
  })

  const handleCallback = async (request: FastifyRequest, reply: FastifyReply) => {
    const started = performance.now()
    const query = request.query as Record<string, unknown>
    let transaction: Transaction | undefined
    let identity: Identity | undefined

    try {
      assertCallbackShape(query, provider.issuer)
      transaction = await takeTransaction(request, reply, query)
      const providerError = typeof query['error'] === 'string' ? query['error'] : undefined
      if (providerError === 'access_denied')
        return handleCancel(request, reply, transaction.request)
      if (
        transaction.silent &&
        providerError &&
        /^(login|interaction|consent|account_selection)_required$/.test(providerError)
      ) {
        // The silent attempt found no provider session: ask interactively, once (K13).
        events.silentLoginFellBack(request)
        return await startLogin(reply, transaction.request, false)
      }

      const callbackUrl = new URL(config.jitsi.redirectUri)
      callbackUrl.search = rawQuery(request.url)
      const login = await completeAuthorization(
        provider.requireConfiguration(),
        config.oidc,
        callbackUrl,
        transaction,
        nowSeconds(),
      )

      const claims = !login.userinfo
        ? login.idTokenClaims
        : login.idToken
          ? mergeClaims(login.idTokenClaims, login.userinfo)
          : login.userinfo
      identity = buildIdentity(claims, config.policy.claims, {
        issuer: provider.issuer,
        clientId: config.oidc.clientId,
      })
      const decision = decideAccess(identity, transaction.request, config.policy)
      if (!decision.allowed) {
        throw new AppError('ERR_POLICY_DENIED', { detail: decision.reason })
      }

      const now = nowSeconds()
      const tokenClaims = buildJitsiClaims({
        request: transaction.request,
        user: {
          id: identity.id,
          ...(identity.name ? { name: identity.name } : {}),
          ...(identity.email ? { email: identity.email } : {}),
          ...(identity.avatar ? { avatar: identity.avatar } : {}),
          moderator: decision.moderator,
          lobbyBypass: decision.lobbyBypass,
          securityBypass: decision.securityBypass,
        },
        ...(decision.features ? { features: { ...decision.features } } : {}),
        settings: config.token,
        nowSeconds: now,
      })
      const token = await signJitsiToken(tokenClaims, config.token)
      // Jitsi shows nothing useful when Prosody refuses a token, so we check our own output.
      assertProsodyAccepts(token, {
        settings: config.token,
        roomSafe: transaction.request.roomSafe,
        ...(transaction.request.tenant ? { tenant: transaction.request.tenant } : {}),
        nowSeconds: now,
      })

      const target = buildReturnTarget({
        jitsiBaseUrl: config.jitsi.baseUrl,
        request: transaction.request,
        token,
        delivery: config.token.delivery,
        skipPrejoin: config.jitsi.skipPrejoin,
        legacyPrejoinFlag: config.jitsi.legacyPrejoinFlag,
      })
      events.loginSucceeded(request, {
        identity,
        decision,
        request: transaction.request,
        durationMs: performance.now() - started,
      })
      // The hint is only of use where the provider can end its session (RP-initiated logout).
      if (login.idToken && provider.endSessionEndpoint) {
        await setLogoutCookie(reply, config, cookieKey, login.idToken, now)
      }
      return sendReturn(reply, target, transaction.request, token)
    } catch (error) {
      events.loginFailed(
        request,
        error,
        transaction?.request,
        performance.now() - started,
        identity,
      )
      if (!(error instanceof AppError)) throw error
      const links = transaction
        ? buildRetryLinks(transaction.request, error.code === 'ERR_POLICY_DENIED')
        : [{ href: config.jitsi.baseUrl.href, label: 'Back to the meeting site', primary: true }]
      if (transaction?.request.popup)
        return sendPopupError(request, reply, error, links, config.jitsi.baseUrl.origin)
      return sendError(request, reply, error, links)
    }
  }

  for (const path of callbackPaths) app.get(path, handleCallback)

  /** Finds this callback's transaction cookie, opens it, and clears it: a callback works once. */
  async function takeTransaction(
    request: FastifyRequest,
    reply: FastifyReply,
    query: Record<string, unknown>,
  ): Promise<Transaction> {
    const state = query['state']
    const cookies = request.cookies
    const hasAnyTransaction = Object.keys(cookies).some((name) =>
      name.startsWith(transactionCookiePrefix),
    )

    if (typeof state !== 'string' || state === '') {
      throw new AppError(hasAnyTransaction ? 'ERR_OIDC_STATE_MISMATCH' : 'ERR_TX_MISSING', {
        detail: 'callback without a state parameter',
      })
    }
    const name = findTransactionCookieName(Object.keys(cookies), state)
    const sealed = name === undefined ? undefined : cookies[name]
    if (name === undefined || !sealed) {
      throw new AppError(hasAnyTransaction ? 'ERR_OIDC_STATE_MISMATCH' : 'ERR_TX_MISSING', {
        detail: hasAnyTransaction
          ? 'state matches none of the login cookies'
          : 'no login cookie: expired, already used, or started in another browser',
      })
    }

    reply.clearCookie(name, cookieOptions)
    return openTransaction(sealed, cookieKey, state, nowSeconds())
  }

  function handleCancel(request: FastifyRequest, reply: FastifyReply, loginRequest: LoginRequest) {
    events.loginCancelled(request, loginRequest)
    // A popup has no room to go back to: its opener is the room, and hears the cancel.
    if (loginRequest.popup) {
      const cancelled = new AppError('ERR_OIDC_ACCESS_DENIED')
      const links = buildRetryLinks(loginRequest)
      return sendPopupError(request, reply, cancelled, links, config.jitsi.baseUrl.origin)
    }
    // Only the web goes back by redirect: a 302 to an app's custom scheme needs a user gesture
    // (JITSI.md §6), and the web room would drop an app user into the browser.
    if (config.jitsi.cancelReturnsToRoom && loginRequest.client === 'web') {
      return reply.redirect(buildRoomUrl(config.jitsi.baseUrl, loginRequest), 302)
    }
    return sendError(
      request,
      reply,
      new AppError('ERR_OIDC_ACCESS_DENIED'),
      buildRetryLinks(loginRequest),
    )
  }

  // Every page after the transaction is opened (cancel, refusal, failure) offers the same
  // request again, platform and overrides included, and a guest link into the app that asked.
  /** With `otherAccount`, the retry asks the provider to sign in anew (`prompt=login`). */
  function buildRetryLinks(loginRequest: LoginRequest, otherAccount = false) {
    const retry = new URLSearchParams({ state: buildStateJson(loginRequest) })
    if (otherAccount) retry.set('prompt', 'login')
    // In Jitsi's popup mode the retry runs in the same popup and must again end by posting to
    // the opener; the nonce only marks that mode (Jitsi does not read its value back).
    if (loginRequest.popup) retry.set('nonce', 'retry')
    return [
      {
        href: `${config.jitsi.adapterPublicUrl.href}oidc/auth?${retry}`,
        label: otherAccount ? 'Sign in with another account' : 'Sign in again',
        primary: true,
      },
      { href: buildGuestLink(config.jitsi.baseUrl, loginRequest), label: 'Join as a guest' },
    ]
  }

  function sendReturn(
    reply: FastifyReply,
    target: ReturnTarget,
    loginRequest: LoginRequest,
    token: string,
  ) {
    if (target.kind === 'redirect') return reply.redirect(target.url, 302)
    return sendPage(
      reply,
      200,
      renderReturnPage(target, loginRequest, {
        token,
        autoReturn: config.jitsi.appAutoReturn,
        jitsiOrigin: config.jitsi.baseUrl.origin,
      }),
    )
  }
}

function rawQuery(url: string): string {
  const index = url.indexOf('?')
  return index === -1 ? '' : url.slice(index)
}
