import { createHash, hkdfSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'

import {
  ConfigProblems,
  loadSettings,
  maskUrlCredentials,
  type ConfigSources,
  type LoadedSettings,
} from './load.js'
import type { ResolvedSetting, SettingSpec, SettingValue } from './schema.js'
import { jitsiSettings, tokenSettings } from './settings/jitsi.js'
import { oidcSettings } from './settings/oidc.js'
import { buildMetricsConfig, metricsSettings, type MetricsConfig } from './settings/metrics.js'
import { buildPolicyConfig, policySettings, type PolicyConfig } from './settings/policy.js'
import { buildSecurityConfig, securitySettings, type SecurityConfig } from './settings/security.js'
import { loggingSettings, serverSettings } from './settings/server.js'

export { ConfigProblems, type ConfigProblem } from './load.js'

/** Every setting, in the order the reference lists them. */
export const allSettings: readonly SettingSpec[] = [
  ...oidcSettings,
  ...jitsiSettings,
  ...tokenSettings,
  ...policySettings,
  ...serverSettings,
  ...securitySettings,
  ...loggingSettings,
  ...metricsSettings,
]

export interface StaticEndpoints {
  authorization: string
  token: string
  jwks: string
  userinfo?: string
  endSession?: string
}

export interface OidcConfig {
  /** Configured issuer, as written (a trailing slash is tolerated at discovery). */
  issuer?: string
  discoveryUrl?: string
  internalBaseUrl?: string
  caFile?: string
  staticEndpoints?: StaticEndpoints
  clientId: string
  clientSecret?: string
  authMethod: 'auto' | 'client_secret_basic' | 'client_secret_post' | 'none'
  scopes: readonly string[]
  userinfo: 'auto' | 'always' | 'never'
  prompt?: string
  silentLogin: boolean
  acrValues?: string
  allowMissingIdToken: boolean
  allowHttp: boolean
  timeoutSeconds: number
  clockToleranceSeconds: number
}

export interface JitsiConfig {
  baseUrl: URL
  adapterPublicUrl: URL
  /** `ADAPTER_PUBLIC_URL` + `/oidc/redirect`: what the provider must have registered. */
  redirectUri: string
  skipPrejoin: boolean
  legacyPrejoinFlag: boolean
  appAutoReturn: boolean
  cancelReturnsToRoom: boolean
}

/** The Jitsi JWT as Prosody checks it (JITSI.md §2), and how it travels back. */
export interface TokenConfig {
  /** Prosody's app_secret: the HMAC key. */
  secret: Uint8Array
  algorithm: 'HS256' | 'HS384' | 'HS512'
  issuer: string
  audience: string
  /** Default `sub`: the Jitsi domain, `meet.jitsi` on docker, or `*` (JITSI.md §3). */
  subject: string
  lifetimeSeconds: number
  notBeforeSkewSeconds: number
  roomScope: 'room' | 'any'
  delivery: 'hash' | 'query'
}

export interface ServerConfig {
  host: string
  port: number
  trustProxy: boolean | string | string[]
  /** 32 bytes for the sealed login cookie. */
  cookieKey: Uint8Array
  /** Cookies get `Secure` when the adapter's public URL is https. */
  secureCookies: boolean
  shutdownTimeoutSeconds: number
}

export interface LoggingConfig {
  level: string
  format: 'auto' | 'json' | 'pretty'
  file?: string
  fileMode: 'a' | 'w'
}

export interface Config {
  oidc: OidcConfig
  jitsi: JitsiConfig
  token: TokenConfig
  policy: PolicyConfig
  server: ServerConfig
  security: SecurityConfig
  logging: LoggingConfig
  metrics: MetricsConfig
  /** Start-up warnings: settings that weaken security or look wrong. */
  warnings: readonly string[]
  legacy: LoadedSettings['legacy']
  /** Every resolved setting with its source, for `check` (secrets included: never print values). */
  settings: ReadonlyMap<string, ResolvedSetting>
}

/** Thrown by `buildConfig` with every problem found, never only the first. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblems['list']) {
    super(`${problems.length} configuration problem(s)`)
    this.name = 'ConfigError'
  }
}

/** Typed access to the loaded values for the builders of each group. */
export class SettingReader {
  constructor(private readonly values: ReadonlyMap<string, ResolvedSetting>) {}

  has(env: string): boolean {
    return this.values.has(env)
  }

  value(env: string): SettingValue | undefined {
    return this.values.get(env)?.value
  }

  string(env: string): string | undefined {
    const value = this.value(env)
    return typeof value === 'string' ? value : undefined
  }

  integer(env: string): number {
    return this.value(env) as number
  }

  boolean(env: string): boolean {
    return this.value(env) === true
  }

  list(env: string): readonly string[] {
    const value = this.value(env)
    return Array.isArray(value) ? value : []
  }

  /** The name the admin used for this setting, for messages. */
  origin(env: string): string {
    return this.values.get(env)?.origin ?? env
  }
}

/**
 * Builds the one frozen `Config` from the environment and an optional INI file, or throws a
 * `ConfigError` listing every problem, each naming the setting and the fix.
 */
export function buildConfig(sources: ConfigSources): Config {
  const problems = new ConfigProblems()
  const warnings: string[] = []
  const loaded = loadSettings(allSettings, sources, problems)
  const read = new SettingReader(loaded.values)

  const oidc = buildOidcConfig(read, problems, warnings)
  const jitsi = buildJitsiConfig(read, problems)
  const token = buildTokenConfig(read, problems, jitsi?.baseUrl, loaded)
  const policy = buildPolicyConfig(read, problems, warnings)
  const metrics = buildMetricsConfig(read, problems)
  const server = buildServerConfig(read, problems, jitsi?.adapterPublicUrl, token?.secret)

  if (problems.list.length > 0 || !oidc || !jitsi || !token || !server) {
    throw new ConfigError(problems.list)
  }
  collectWarnings(read, { jitsi, server }, warnings)

  return deepFreeze({
    oidc,
    jitsi,
    token,
    policy,
    server,
    security: buildSecurityConfig(read),
    logging: {
      level: read.string('LOG_LEVEL')!,
      format: read.string('LOG_FORMAT') as LoggingConfig['format'],
      ...optional('file', read.string('LOG_FILE')),
      fileMode: read.string('LOG_FILE_MODE') as LoggingConfig['fileMode'],
    },
    metrics,
    warnings,
    legacy: loaded.legacy,
    settings: loaded.values,
  })
}

function buildOidcConfig(
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
  if (authMethod !== 'none' && authMethod !== 'auto' && !clientSecret) {
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

function buildJitsiConfig(read: SettingReader, problems: ConfigProblems): JitsiConfig | undefined {
  const base = read.string('JITSI_BASE_URL')
  if (!base) {
    problems.required(
      'JITSI_BASE_URL',
      'is required: set it to the public URL of your Jitsi Meet site, e.g. "https://meet.example.com"',
    )
    return undefined
  }

  const baseUrl = new URL(base)
  if (baseUrl.search || baseUrl.hash || baseUrl.username || baseUrl.password) {
    problems.add(
      read.origin('JITSI_BASE_URL'),
      `must be a plain site URL without query, fragment or credentials, got "${maskUrlCredentials(base)}"`,
    )
  }
  // Jitsi reads every path segment before the room as a tenant (JITSI.md §3), so a site under
  // a path prefix would look like a tenant; such deployments are not supported.
  if (baseUrl.pathname !== '/') {
    problems.add(
      read.origin('JITSI_BASE_URL'),
      `must be the site root without a path (e.g. "${baseUrl.origin}"), got "${maskUrlCredentials(base)}"; Jitsi under a path prefix is not supported`,
    )
  }

  const adapterPublicUrl = new URL(read.string('ADAPTER_PUBLIC_URL') ?? baseUrl.origin)
  if (!adapterPublicUrl.pathname.endsWith('/')) adapterPublicUrl.pathname += '/'

  return {
    baseUrl,
    adapterPublicUrl,
    redirectUri: new URL(read.string('ADAPTER_CALLBACK_PATH')!.slice(1), adapterPublicUrl).href,
    skipPrejoin: read.boolean('JITSI_SKIP_PREJOIN'),
    legacyPrejoinFlag: read.boolean('JITSI_LEGACY_PREJOIN_FLAG'),
    appAutoReturn: read.boolean('JITSI_APP_AUTO_RETURN'),
    cancelReturnsToRoom: read.boolean('JITSI_CANCEL_RETURNS_TO_ROOM'),
  }
}

function buildTokenConfig(
  read: SettingReader,
  problems: ConfigProblems,
  baseUrl: URL | undefined,
  loaded: LoadedSettings,
): TokenConfig | undefined {
  const secret = read.string('JWT_APP_SECRET')
  // jitsi-openid minted `iss: "jitsi"`, so Prosody's app_id is "jitsi" on those installs.
  const fromJitsiOpenid = loaded.legacy.some((name) => name.from === 'jitsi-openid')
  const issuer =
    read.string('JWT_ISSUER') ??
    read.string('JWT_APP_ID') ??
    (fromJitsiOpenid ? 'jitsi' : undefined)

  if (!secret) {
    problems.required(
      'JWT_APP_SECRET',
      "is required: set it to Prosody's app_secret (docker: JWT_APP_SECRET), or give a file with JWT_APP_SECRET_FILE",
    )
  } else if (secret.length < 16) {
    problems.add(
      read.origin('JWT_APP_SECRET'),
      `must be at least 16 characters, got a value of ${secret.length} characters; generate one with "openssl rand -hex 32"`,
    )
  }
  if (!issuer) {
    problems.required('JWT_APP_ID', "is required: set it to Prosody's app_id (docker: JWT_APP_ID)")
  }
  if (!secret || !issuer || !baseUrl) return undefined

  return {
    secret: new TextEncoder().encode(secret),
    algorithm: read.string('JWT_ALGORITHM') as TokenConfig['algorithm'],
    issuer,
    audience: read.string('JWT_AUDIENCE')!,
    subject: read.string('JWT_SUBJECT') ?? baseUrl.hostname,
    lifetimeSeconds: read.integer('JWT_LIFETIME_SECONDS'),
    notBeforeSkewSeconds: read.integer('JWT_NOT_BEFORE_SKEW_SECONDS'),
    roomScope: read.string('JWT_ROOM_SCOPE') as TokenConfig['roomScope'],
    delivery: read.string('JWT_DELIVERY') as TokenConfig['delivery'],
  }
}

function buildServerConfig(
  read: SettingReader,
  problems: ConfigProblems,
  adapterPublicUrl: URL | undefined,
  appSecret: Uint8Array | undefined,
): ServerConfig | undefined {
  const cookieSecret = read.string('COOKIE_SECRET')
  if (cookieSecret !== undefined && cookieSecret.length < 32) {
    problems.add(
      read.origin('COOKIE_SECRET'),
      `must be at least 32 characters, got a value of ${cookieSecret.length} characters; generate one with "openssl rand -hex 32"`,
    )
  }
  if (!appSecret) return undefined

  // Replicas that share the app secret derive the same cookie key, so any of them can finish a
  // login another started; the label keeps this key apart from the token's HMAC key.
  const material = cookieSecret ? new TextEncoder().encode(cookieSecret) : appSecret
  const cookieKey = new Uint8Array(
    hkdfSync(
      'sha256',
      material,
      createHash('sha256').update('jitsi-oidc-adapter').digest(),
      'login-transaction-cookie',
      32,
    ),
  )

  return {
    host: read.string('HOST')!,
    port: read.integer('PORT'),
    trustProxy: parseTrustProxy(read, problems),
    cookieKey,
    secureCookies: adapterPublicUrl?.protocol === 'https:',
    shutdownTimeoutSeconds: read.integer('SHUTDOWN_TIMEOUT_SECONDS'),
  }
}

/** Names proxy-addr (fastify's trustProxy) knows, besides addresses and CIDR ranges. */
const proxyRangeNames = new Set(['loopback', 'linklocal', 'uniquelocal'])

function parseTrustProxy(
  read: SettingReader,
  problems: ConfigProblems,
): ServerConfig['trustProxy'] {
  const value = read.string('TRUST_PROXY')!
  if (/^(false|no|off|0)$/i.test(value)) return false
  if (/^(true|yes|on|1)$/i.test(value)) return true

  const list = value.split(/[\s,]+/).filter((item) => item !== '')
  const invalid = list.filter((item) => !proxyRangeNames.has(item) && !isAddressOrRange(item))
  if (invalid.length > 0) {
    problems.add(
      read.origin('TRUST_PROXY'),
      `must be loopback, false, true, or a comma list of addresses and CIDR ranges (e.g. "10.0.0.0/8"), got ${invalid.map((item) => `"${item}"`).join(', ')}`,
    )
  }
  return list.length === 1 ? list[0]! : list
}

function isAddressOrRange(item: string): boolean {
  const [address, bits, extra] = item.split('/')
  const family = isIP(address ?? '')
  if (family === 0 || extra !== undefined) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}

/** Settings that are valid but weaken security or look wrong: said once at start-up. */
function collectWarnings(
  read: SettingReader,
  config: { jitsi: JitsiConfig; server: ServerConfig },
  warnings: string[],
): void {
  if (config.server.trustProxy === true) {
    warnings.push(
      'TRUST_PROXY=true trusts X-Forwarded-For from any client: rate limits and logs can be fooled; name your proxies instead',
    )
  }
  if (config.jitsi.baseUrl.protocol === 'http:') {
    warnings.push(
      'JITSI_BASE_URL uses plain http: the Jitsi token travels unencrypted; use https outside a test setup',
    )
  }
  if (read.string('JWT_ROOM_SCOPE') === 'any') {
    warnings.push(
      'JWT_ROOM_SCOPE=any: every token opens every room, not only the one the host asked for',
    )
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Map) && !ArrayBuffer.isView(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
