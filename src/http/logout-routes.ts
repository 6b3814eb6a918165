import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

import type { Config } from '../config/index.js'
import type { OidcProvider } from '../oidc/provider.js'
import { openCookieValue, sealCookieValue, type TransactionKey } from '../transaction.js'
import { sendPage } from './reply.js'
import { renderLogoutFramePage } from './return-pages.js'

export interface LogoutRouteDeps {
  config: Config
  provider: OidcProvider
  cookieKey: TransactionKey
  now?: () => number
}

/** Holds the sealed ID token from the last login, for `id_token_hint` at logout. */
export const logoutCookieName = 'oidc_logout'

// The audience keeps a sealed login transaction (same key) from passing as a logout hint.
const hintAudience = 'jitsi-oidc-adapter:logout-hint'

// Browsers drop cookies over 4096 bytes with name and attributes; a larger ID token is not
// kept, and logout then goes to the provider with `client_id` only (it may ask to confirm).
const maxSealedChars = 3800

/** Every adapter cookie: only for `/oidc/`, out of scripts' reach, sent on top-level returns. */
export function buildCookieOptions(config: Config) {
  return {
    path: '/oidc/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: config.server.secureCookies,
  }
}

/**
 * After a login, keeps the provider's ID token sealed (JWE `dir` + A256GCM, like the login
 * transaction) in a cookie that lives as long as the Jitsi token, so `/oidc/logout` can end
 * the provider session with `id_token_hint` (OpenID Connect RP-Initiated Logout 1.0 §2).
 */
export async function setLogoutCookie(
  reply: FastifyReply,
  config: Config,
  key: TransactionKey,
  idToken: string,
  nowSeconds: number,
): Promise<void> {
  const lifetimeSeconds = config.token.lifetimeSeconds
  const sealed = await sealCookieValue({ idt: idToken }, key, {
    nowSeconds,
    ttlSeconds: lifetimeSeconds,
    audience: hintAudience,
  })

  if (sealed.length > maxSealedChars) {
    reply.log.debug({ event: 'auth.logout_hint_skipped' }, 'id token too large for a cookie')
    return
  }
  reply.setCookie(logoutCookieName, sealed, {
    ...buildCookieOptions(config),
    maxAge: lifetimeSeconds,
  })
}

/** Opens the logout cookie; anything expired, foreign or damaged counts as no hint. */
async function openLogoutHint(
  sealed: string | undefined,
  key: TransactionKey,
  nowSeconds: number,
): Promise<string | undefined> {
  if (!sealed) return undefined
  try {
    const payload = await openCookieValue(sealed, key, { nowSeconds, audience: hintAudience })
    return typeof payload['idt'] === 'string' ? payload['idt'] : undefined
  } catch {
    return undefined
  }
}

/**
 * Popup mode (config.tokenAuthInline) loads `tokenLogoutUrl` in a hidden iframe. Browsers say
 * so in `Sec-Fetch-Dest`; `?iframe=1` in tokenLogoutUrl covers browsers that do not send it.
 */
function isFrameRequest(request: FastifyRequest): boolean {
  const query = request.query as Record<string, unknown>
  return query['iframe'] === '1' || request.headers['sec-fetch-dest'] === 'iframe'
}

/**
 * `GET /oidc/logout`, Jitsi's `config.tokenLogoutUrl`: clears the adapter's cookie and ends the
 * provider session through its `end_session_endpoint` with `id_token_hint`, `client_id` and
 * `post_logout_redirect_uri` = JITSI_BASE_URL. Without that endpoint it goes straight back.
 */
export function registerLogoutRoutes(app: FastifyInstance, deps: LogoutRouteDeps): void {
  const { config, provider } = deps
  const nowSeconds = () => Math.floor((deps.now?.() ?? Date.now()) / 1000)

  app.get('/oidc/logout', async (request, reply) => {
    const idToken = await openLogoutHint(
      request.cookies[logoutCookieName],
      deps.cookieKey,
      nowSeconds(),
    )
    reply.clearCookie(logoutCookieName, buildCookieOptions(config))

    if (isFrameRequest(request)) {
      // Not handled: in popup mode the provider session is not ended. Provider logout pages
      // refuse to be framed and often ask to confirm; only the adapter's cookie is cleared.
      request.log.info({ event: 'auth.logout', frame: true }, 'logout in a frame')
      reply.header('x-frame-options', 'SAMEORIGIN')
      return sendPage(reply, 200, renderLogoutFramePage(config.jitsi.baseUrl.origin))
    }

    provider.requireConfiguration()
    const endSession = provider.endSessionEndpoint
    request.log.info(
      { event: 'auth.logout', provider: Boolean(endSession), idTokenHint: Boolean(idToken) },
      endSession ? 'logout: ending the provider session' : 'logout: provider has no logout',
    )
    if (!endSession) return reply.redirect(config.jitsi.baseUrl.href, 302)

    const url = new URL(endSession)
    if (idToken) url.searchParams.set('id_token_hint', idToken)
    url.searchParams.set('client_id', config.oidc.clientId)
    url.searchParams.set('post_logout_redirect_uri', config.jitsi.baseUrl.href)
    return reply.redirect(url.href, 302)
  })
}
