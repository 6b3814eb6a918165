import * as client from 'openid-client'

import { AppError, isAppError, type ErrorCode } from '../errors.js'

/** Provider answers on the callback that mean "the user did not get in", not "we broke". */
const loginRequiredErrors = new Set([
  'login_required',
  'interaction_required',
  'consent_required',
  'account_selection_required',
])

/**
 * The one boundary where openid-client and oauth4webapi errors become ours. Their messages and
 * causes can hold token responses and claim sets, so only a short safe detail crosses it.
 */
export function toAppError(
  error: unknown,
  step: 'discovery' | 'callback' | 'token' | 'userinfo',
): AppError {
  const ours = findAppError(error)
  if (ours) return ours

  if (error instanceof client.AuthorizationResponseError) {
    const code = error.error
    if (code === 'access_denied')
      return new AppError('ERR_OIDC_ACCESS_DENIED', {
        detail: 'the user cancelled or the provider denied access',
      })
    if (loginRequiredErrors.has(code))
      return new AppError('ERR_OIDC_LOGIN_REQUIRED', { detail: `provider answered ${code}` })
    // RFC 6749 §4.1.2.1: the provider's own failure, not a refusal of this user.
    if (code === 'server_error' || code === 'temporarily_unavailable')
      return new AppError('ERR_OIDC_PROVIDER_UNAVAILABLE', { detail: `provider answered ${code}` })
    return new AppError('ERR_OIDC_PROVIDER_ERROR', {
      detail: `provider answered error=${safeCode(code)}`,
    })
  }

  if (error instanceof client.ResponseBodyError) {
    // At the callback step an error body can only come from the token request.
    const endpoint = step === 'callback' ? 'token' : step
    const code = safeCode(error.error)
    if (error.status >= 500)
      return new AppError('ERR_OIDC_PROVIDER_BAD_RESPONSE', {
        detail: `${endpoint} endpoint answered ${error.status} ${code}`,
      })
    if (code === 'invalid_client' || code === 'unauthorized_client') {
      return new AppError('ERR_OIDC_CLIENT_REJECTED', {
        detail: `${endpoint} endpoint answered ${code}: check OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_CLIENT_AUTH_METHOD`,
      })
    }
    return new AppError('ERR_OIDC_CODE_REJECTED', {
      detail: `${endpoint} endpoint answered ${error.status} ${code}`,
    })
  }

  const code = (error as { code?: string })?.code
  const message = describeLibraryError(error)
  if (code === 'OAUTH_INVALID_RESPONSE' && message.includes('"id_token" property')) {
    return new AppError('ERR_OIDC_ID_TOKEN_MISSING', {
      detail: 'token response has no id_token: request the "openid" scope (OIDC_SCOPES)',
    })
  }
  // oauth4webapi refetches the key set for an unknown `kid` at most once a minute, so a login
  // right after a key rotation fails until then: say so, rather than leave the admin guessing.
  const hint =
    code === 'OAUTH_KEY_SELECTION_FAILED'
      ? '; if the provider just rotated its keys, logins recover within 60 s, when the key set is fetched again'
      : ''
  const detail = `${step}: ${message}${code ? ` (${code})` : ''}${hint}`
  return new AppError(codeFor(code, step, message), { detail, cause: error })
}

/**
 * openid-client wraps oauth4webapi's error in a generic one ("invalid response encountered")
 * with the same code; the specific message, which names the failed check, is the cause's.
 */
function describeLibraryError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error'
  const cause = error.cause
  const sameCode =
    cause instanceof Error &&
    (cause as { code?: string }).code === (error as { code?: string }).code
  return sameCode ? cause.message : error.message
}

function codeFor(code: string | undefined, step: string, message: string): ErrorCode {
  switch (code) {
    case 'OAUTH_TIMEOUT':
    case 'OAUTH_ABORT':
      return 'ERR_OIDC_PROVIDER_TIMEOUT'
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
    case 'OAUTH_RESPONSE_IS_NOT_JSON':
    case 'OAUTH_PARSE_ERROR':
    case 'OAUTH_INVALID_SERVER_METADATA':
    case 'OAUTH_MISSING_SERVER_METADATA':
      return 'ERR_OIDC_PROVIDER_BAD_RESPONSE'
    case 'OAUTH_INVALID_REQUEST':
      return 'ERR_OIDC_CALLBACK_INVALID'
    case 'OAUTH_INVALID_RESPONSE':
      // A callback `iss` that is missing or names another issuer (RFC 9207 §2.4) is a bad
      // callback; any other invalid response at this step is about the ID token.
      if (step === 'callback' && message.includes('response parameter'))
        return 'ERR_OIDC_CALLBACK_INVALID'
      return step === 'userinfo' ? 'ERR_OIDC_USERINFO_INVALID' : 'ERR_OIDC_ID_TOKEN_INVALID'
    case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED':
      // A callback `iss` naming another issuer (RFC 9207) or a state mismatch; at userinfo, a
      // `sub` other than the ID token's (OIDC Core §5.3.4): a refusal (4xx), not a provider fault.
      if (step === 'callback') return 'ERR_OIDC_CALLBACK_INVALID'
      return step === 'userinfo' ? 'ERR_OIDC_USERINFO_INVALID' : 'ERR_OIDC_PROVIDER_BAD_RESPONSE'
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
    case 'OAUTH_KEY_SELECTION_FAILED':
    case 'OAUTH_UNSUPPORTED_OPERATION':
      return step === 'userinfo' ? 'ERR_OIDC_USERINFO_INVALID' : 'ERR_OIDC_ID_TOKEN_INVALID'
    default:
      return step === 'discovery' ? 'ERR_OIDC_PROVIDER_BAD_RESPONSE' : 'ERR_OIDC_ID_TOKEN_INVALID'
  }
}

function findAppError(error: unknown): AppError | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (isAppError(current)) return current
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/** OAuth error codes are short ASCII words; anything else is not echoed into our logs. */
function safeCode(code: unknown): string {
  return typeof code === 'string' && /^[\w.-]{1,64}$/.test(code) ? code : 'unknown'
}
