import { readFileSync } from 'node:fs'

import { maskUrlCredentials, type ConfigProblems } from './load.js'
import { optional, type SettingReader } from './reader.js'
import type { OidcConfig, StaticEndpoints } from './types.js'

/** The provider settings: issuer or discovery or static endpoints, client, scopes, limits. */
export function buildOidcConfig(
  read: SettingReader,
  problems: ConfigProblems,
  warnings: string[],
): OidcConfig | undefined {
  const issuer = read.string('OIDC_ISSUER_URL')
  const discoveryUrl = read.string('OIDC_DISCOVERY_URL')
  const clientId = read.string('OIDC_CLIENT_ID')
  const clientSecret = read.string('OIDC_CLIENT_SECRET')
  const authMethod = read.string('OIDC_CLIENT_AUTH_METHOD') as OidcConfig['authMethod']
  const scopes = read.list('OIDC_SCOPES')
  const allowHttp = read.boolean('OIDC_ALLOW_HTTP')
  assertCaFile(read, problems)

  if (!clientId) {
    problems.required(
      'OIDC_CLIENT_ID',
      'is required: set it to the client ID registered at your provider',
    )
  }
  if (!scopes.includes('openid')) {
    problems.add(
      read.origin('OIDC_SCOPES'),
      'must include "openid", else the provider sends no ID token',
    )
  }
  // An auth method the loader refused is undefined here: its own problem is already listed.
  if (authMethod !== undefined && authMethod !== 'none' && authMethod !== 'auto' && !clientSecret) {
    problems.add(
      'OIDC_CLIENT_SECRET',
      `is required with OIDC_CLIENT_AUTH_METHOD=${authMethod}; set it, or use "none" for a public client`,
    )
  }
  if (authMethod === 'none' && clientSecret) {
    warnings.push(
      'OIDC_CLIENT_SECRET is set but OIDC_CLIENT_AUTH_METHOD=none: the secret is not sent',
    )
  }

  const staticEndpoints =
    discoveryUrl === undefined && issuer !== undefined
      ? readStaticEndpoints(read, problems)
      : undefined
  if (!issuer && !discoveryUrl) {
    if (!problems.isRefused('OIDC_DISCOVERY_URL'))
      problems.required(
        'OIDC_ISSUER_URL',
        'is required: set it to your provider\'s issuer (e.g. "https://idp.example.com/realms/jitsi"), or set OIDC_DISCOVERY_URL',
      )
  }

  for (const name of ['OIDC_ISSUER_URL', 'OIDC_DISCOVERY_URL', 'OIDC_INTERNAL_BASE_URL']) {
    const url = read.string(name)
    // OpenID Connect Discovery §2: an issuer has no query or fragment; a base URL neither.
    if (url && /[?#]/.test(url)) {
      problems.add(
        read.origin(name),
        `must not carry a query or fragment, got "${maskUrlCredentials(url)}"`,
      )
    }
    if (url?.startsWith('http:') && !allowHttp) {
      problems.add(
        read.origin(name),
        `uses plain http ("${url}"); use https, or set OIDC_ALLOW_HTTP=true for local testing only`,
      )
    }
  }
  if (allowHttp)
    warnings.push(
      'OIDC_ALLOW_HTTP=true: the provider may be reached over plain http; use this for local testing only',
    )
  if (read.boolean('OIDC_ALLOW_MISSING_ID_TOKEN')) {
    warnings.push(
      'OIDC_ALLOW_MISSING_ID_TOKEN=true: users may be identified by userinfo alone, without a signed ID token',
    )
  }

  if (!clientId || (!issuer && !discoveryUrl)) return undefined
  return {
    ...optional('issuer', issuer),
    ...optional('discoveryUrl', discoveryUrl),
    ...optional('internalBaseUrl', read.string('OIDC_INTERNAL_BASE_URL')),
    ...optional('caFile', read.string('OIDC_CA_FILE')),
    ...optional('staticEndpoints', staticEndpoints),
    clientId,
    ...optional('clientSecret', clientSecret),
    authMethod,
    scopes,
    userinfo: read.string('OIDC_USERINFO') as OidcConfig['userinfo'],
    ...optional('prompt', read.string('OIDC_PROMPT')),
    silentLogin: read.boolean('OIDC_SILENT_LOGIN'),
    ...optional('acrValues', read.string('OIDC_ACR_VALUES')),
    allowMissingIdToken: read.boolean('OIDC_ALLOW_MISSING_ID_TOKEN'),
    allowHttp,
    timeoutSeconds: read.integer('OIDC_TIMEOUT_SECONDS'),
    clockToleranceSeconds: read.integer('OIDC_CLOCK_TOLERANCE_SECONDS'),
  }
}

/** K17: a private CA is read at start-up, so a wrong path fails then and not at the first login. */
function assertCaFile(read: SettingReader, problems: ConfigProblems): void {
  const path = read.string('OIDC_CA_FILE')
  if (path === undefined) return
  try {
    if (!readFileSync(path, 'utf8').includes('-----BEGIN CERTIFICATE-----')) {
      problems.add(
        read.origin('OIDC_CA_FILE'),
        `"${path}" holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`,
      )
    }
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    problems.add(
      read.origin('OIDC_CA_FILE'),
      `cannot read "${path}" (${reason}); check the path and its permissions`,
    )
  }
}

/** Static mode: all three core endpoints, or none (then discovery runs from the issuer). */
function readStaticEndpoints(
  read: SettingReader,
  problems: ConfigProblems,
): StaticEndpoints | undefined {
  const authorization = read.string('OIDC_AUTHORIZATION_ENDPOINT')
  const token = read.string('OIDC_TOKEN_ENDPOINT')
  const jwks = read.string('OIDC_JWKS_URI')
  const given = [authorization, token, jwks].filter((value) => value !== undefined).length
  if (given === 0) return undefined
  if (given < 3) {
    problems.add(
      'OIDC_AUTHORIZATION_ENDPOINT',
      'static mode needs OIDC_AUTHORIZATION_ENDPOINT, OIDC_TOKEN_ENDPOINT and OIDC_JWKS_URI together; set all three, or none to use discovery',
    )
    return undefined
  }
  return {
    authorization: authorization!,
    token: token!,
    jwks: jwks!,
    ...optional('userinfo', read.string('OIDC_USERINFO_ENDPOINT')),
    ...optional('endSession', read.string('OIDC_END_SESSION_ENDPOINT')),
  }
}
