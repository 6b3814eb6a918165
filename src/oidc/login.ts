import { createHash, timingSafeEqual } from 'node:crypto'

import { decodeProtectedHeader } from 'jose'
import * as client from 'openid-client'

import type { OidcConfig } from '../config/index.js'
import { AppError } from '../errors.js'
import { toAppError } from './errors.js'

export interface AuthorizationRequest {
  url: URL
  state: string
  nonce: string
  codeVerifier: string
  silent: boolean
}

/**
 * Builds the provider's authorization URL for the code flow with PKCE S256, a fresh `state`
 * and a `nonce` (the nonce is left out only in the userinfo-only mode, which has no ID token
 * to carry it). Exactly the configured scopes are requested (K14).
 */
export function buildAuthorizationRequest(
  configuration: client.Configuration,
  config: OidcConfig,
  redirectUri: string,
  options: { silent: boolean; prompt?: string },
): AuthorizationRequest {
  const state = client.randomState()
  const nonce = config.allowMissingIdToken ? '' : client.randomNonce()
  const codeVerifier = client.randomPKCECodeVerifier()
  const prompt = options.silent ? 'none' : (options.prompt ?? config.prompt)

  const parameters: Record<string, string> = {
    redirect_uri: redirectUri,
    scope: config.scopes.join(' '),
    state,
    code_challenge: buildCodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    ...(nonce ? { nonce } : {}),
    ...(prompt ? { prompt } : {}),
    ...(config.acrValues ? { acr_values: config.acrValues } : {}),
  }

  return {
    url: client.buildAuthorizationUrl(configuration, parameters),
    state,
    nonce,
    codeVerifier,
    silent: options.silent,
  }
}

/**
 * PKCE S256 (RFC 7636 §4.2): BASE64URL(SHA-256(verifier)). Computed synchronously: the
 * WebCrypto digest openid-client uses costs a thread-pool round trip on every login.
 */
function buildCodeChallenge(codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier).digest('base64url')
}

export interface CompletedLogin {
  /** ID token claims merged with userinfo by the caller's rules; userinfo is returned apart. */
  idTokenClaims: Record<string, unknown>
  userinfo?: Record<string, unknown>
  /** Kept (sealed) only for RP-initiated logout's `id_token_hint`. */
  idToken?: string
}

/**
 * Completes the code flow: checks the callback (state, RFC 9207 `iss`), redeems the code with
 * the PKCE verifier, verifies the ID token (signature, iss, aud/azp, exp, nonce, and `iat` not
 * in the future), and calls userinfo when configured or when the ID token lacks name or email.
 */
export async function completeAuthorization(
  configuration: client.Configuration,
  config: OidcConfig,
  callbackUrl: URL,
  expected: { state: string; nonce: string; codeVerifier: string },
  nowSeconds: number,
): Promise<CompletedLogin> {
  const params = callbackUrl.searchParams
  if (!params.has('code') && !params.has('error')) {
    throw new AppError('ERR_OIDC_CALLBACK_INVALID', {
      detail: 'callback has neither "code" nor "error"',
    })
  }

  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>
  try {
    tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
      expectedState: expected.state,
      pkceCodeVerifier: expected.codeVerifier,
      ...(expected.nonce ? { expectedNonce: expected.nonce } : { idTokenExpected: false }),
    })
  } catch (error) {
    throw toAppError(error, 'callback')
  }

  const claims = tokens.claims() as Record<string, unknown> | undefined
  if (!claims && !config.allowMissingIdToken) {
    throw new AppError('ERR_OIDC_ID_TOKEN_MISSING', {
      detail: 'token response has no id_token: request the "openid" scope (OIDC_SCOPES)',
    })
  }
  if (claims) assertIssuedInThePast(claims, nowSeconds, config.clockToleranceSeconds)
  if (claims) assertAuthorizedParty(claims, config.clientId)
  if (claims && tokens.id_token) assertAccessTokenHash(tokens.id_token, claims, tokens.access_token)

  const userinfo = needsUserinfo(config, claims, configuration)
    ? await fetchUserinfo(configuration, tokens.access_token, claims?.['sub'] as string | undefined)
    : undefined
  if (!claims && !userinfo) {
    throw new AppError('ERR_OIDC_ID_TOKEN_MISSING', {
      detail: 'no ID token and no userinfo endpoint to identify the user',
    })
  }

  return {
    idTokenClaims: claims ?? {},
    ...(userinfo ? { userinfo } : {}),
    ...(tokens.id_token ? { idToken: tokens.id_token } : {}),
  }
}

/** Parameters a provider sends at most once: a repeated one is a forged or mangled callback. */
const singleCallbackParameters = ['code', 'state', 'iss', 'error'] as const

/**
 * Refuses a callback that repeats a parameter or has an empty code, and an error callback
 * whose `iss` (RFC 9207) names another issuer: openid-client compares `iss` only on success.
 */
export function assertCallbackShape(query: Record<string, unknown>, issuer: string): void {
  for (const name of singleCallbackParameters) {
    if (Array.isArray(query[name])) {
      throw new AppError('ERR_OIDC_CALLBACK_INVALID', { detail: `callback repeats "${name}"` })
    }
  }
  if (query['code'] === '') {
    throw new AppError('ERR_OIDC_CALLBACK_INVALID', { detail: 'callback has an empty "code"' })
  }
  const iss = query['iss']
  if (typeof query['error'] === 'string' && iss !== undefined && issuer !== '' && iss !== issuer) {
    throw new AppError('ERR_OIDC_CALLBACK_INVALID', {
      detail: 'error callback names another issuer in "iss"',
    })
  }
}

/** openid-client does not refuse an `iat` in the future; a token from the future is forged or mis-clocked. */
function assertIssuedInThePast(
  claims: Record<string, unknown>,
  nowSeconds: number,
  toleranceSeconds: number,
): void {
  const iat = claims['iat']
  if (typeof iat !== 'number' || iat > nowSeconds + toleranceSeconds) {
    throw new AppError('ERR_OIDC_ID_TOKEN_INVALID', {
      detail: `ID token "iat" is missing or more than ${toleranceSeconds}s in the future`,
    })
  }
}

/**
 * OIDC Core §3.1.3.7: an `azp` names the party the token was issued to. openid-client checks
 * it only when `aud` is a list; a single audience with another party's `azp` is refused too.
 */
function assertAuthorizedParty(claims: Record<string, unknown>, clientId: string): void {
  const azp = claims['azp']
  if (azp !== undefined && azp !== clientId) {
    throw new AppError('ERR_OIDC_ID_TOKEN_INVALID', {
      detail: 'ID token "azp" names another client',
    })
  }
}

/** Hash behind `at_hash` for each ID token algorithm (OIDC Core §3.1.3.6; EdDSA: Ed25519). */
const atHashDigests: Record<string, string> = {
  RS256: 'sha256',
  PS256: 'sha256',
  ES256: 'sha256',
  RS384: 'sha384',
  PS384: 'sha384',
  ES384: 'sha384',
  RS512: 'sha512',
  PS512: 'sha512',
  ES512: 'sha512',
  EdDSA: 'sha512',
  Ed25519: 'sha512',
}

/**
 * `at_hash` is optional in the code flow and openid-client does not check it (K06); when a
 * provider does send one, a mismatch means the access token is not the one this ID token was
 * issued with, so userinfo could answer for someone else.
 */
function assertAccessTokenHash(
  idToken: string,
  claims: Record<string, unknown>,
  accessToken: string,
): void {
  const atHash = claims['at_hash']
  if (atHash === undefined) return

  const digest = atHashDigests[decodeProtectedHeader(idToken).alg ?? '']
  const full = digest ? createHash(digest).update(accessToken).digest() : undefined
  const expected = full
    ? Buffer.from(full.subarray(0, full.length / 2).toString('base64url'))
    : undefined
  const given = Buffer.from(typeof atHash === 'string' ? atHash : '')
  if (!expected || expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new AppError('ERR_OIDC_ID_TOKEN_INVALID', {
      detail: 'ID token "at_hash" does not match the access token',
    })
  }
}

const userinfoEndpoints = new WeakMap<client.Configuration, boolean>()

/** `serverMetadata()` deep-copies the whole discovery document; ask it once per provider. */
function hasUserinfoEndpoint(configuration: client.Configuration): boolean {
  let known = userinfoEndpoints.get(configuration)
  if (known === undefined) {
    known = Boolean(configuration.serverMetadata().userinfo_endpoint)
    userinfoEndpoints.set(configuration, known)
  }
  return known
}

function needsUserinfo(
  config: OidcConfig,
  claims: Record<string, unknown> | undefined,
  configuration: client.Configuration,
): boolean {
  if (config.userinfo === 'never' || !hasUserinfoEndpoint(configuration)) return false
  if (config.userinfo === 'always' || !claims) return true
  const hasName = ['name', 'given_name', 'preferred_username'].some(
    (key) => typeof claims[key] === 'string' && claims[key] !== '',
  )
  return !hasName || typeof claims['email'] !== 'string'
}

async function fetchUserinfo(
  configuration: client.Configuration,
  accessToken: string,
  subject: string | undefined,
): Promise<Record<string, unknown>> {
  try {
    // Without an ID token there is no subject to compare with; userinfo's own `sub` is still required.
    const info = await client.fetchUserInfo(
      configuration,
      accessToken,
      subject ?? client.skipSubjectCheck,
    )
    if (typeof info.sub !== 'string' || info.sub === '') {
      throw new AppError('ERR_OIDC_USERINFO_INVALID', { detail: 'userinfo has no "sub"' })
    }
    return info as Record<string, unknown>
  } catch (error) {
    const appError = toAppError(error, 'userinfo')
    throw appError.code === 'ERR_OIDC_ID_TOKEN_INVALID'
      ? new AppError('ERR_OIDC_USERINFO_INVALID', { detail: appError.message })
      : appError
  }
}
