import { buildOidcConfig } from './build-oidc.js'
import { buildServerConfig } from './build-server.js'
import {
  ConfigProblems,
  loadSettings,
  maskUrlCredentials,
  type ConfigSources,
  type LoadedSettings,
} from './load.js'
import { optional, SettingReader } from './reader.js'
import type { SettingSpec } from './schema.js'
import { jitsiSettings, tokenSettings } from './settings/jitsi.js'
import { buildMetricsConfig, metricsSettings } from './settings/metrics.js'
import { oidcSettings } from './settings/oidc.js'
import { buildPolicyConfig, policySettings } from './settings/policy.js'
import { buildSecurityConfig, securitySettings } from './settings/security.js'
import { loggingSettings, serverSettings } from './settings/server.js'
import type { Config, JitsiConfig, LoggingConfig, ServerConfig, TokenConfig } from './types.js'

export { ConfigProblems, type ConfigProblem } from './load.js'
export { SettingReader } from './reader.js'
export type * from './types.js'

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

/** Thrown by `buildConfig` with every problem found, never only the first. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblems['list']) {
    super(`${problems.length} configuration problem(s)`)
    this.name = 'ConfigError'
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
  const jitsi = buildJitsiConfig(read, problems, loaded)
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
      fileSetting: read.origin('LOG_FILE'),
      fileMode: read.string('LOG_FILE_MODE') as LoggingConfig['fileMode'],
    },
    metrics,
    warnings,
    legacy: loaded.legacy,
    settings: loaded.values,
  })
}

function buildJitsiConfig(
  read: SettingReader,
  problems: ConfigProblems,
  loaded: LoadedSettings,
): JitsiConfig | undefined {
  const base = read.string('JITSI_BASE_URL')
  if (!base) {
    problems.required(
      'JITSI_BASE_URL',
      'is required: set it to the public URL of your Jitsi Meet site, e.g. "https://meet.example.com"',
    )
    return undefined
  }

  const baseUrl = new URL(base)
  if (hasQueryOrCredentials(baseUrl)) {
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

  const publicText = read.string('ADAPTER_PUBLIC_URL')
  const adapterPublicUrl = new URL(publicText ?? baseUrl.origin)
  // Routes and the login cookie's Path are /oidc/ at the root: under a prefix the browser
  // would not send the cookie back to the callback, and every login would fail.
  if (
    publicText &&
    (adapterPublicUrl.pathname !== '/' || hasQueryOrCredentials(adapterPublicUrl))
  ) {
    problems.add(
      read.origin('ADAPTER_PUBLIC_URL'),
      `must be an origin without path, query or credentials (e.g. "${adapterPublicUrl.origin}"), got "${maskUrlCredentials(publicText)}"; the adapter serves /oidc/ at the root of its host`,
    )
  }

  // jitsi-contrib/jitsi-oidc-adapter took its callback at /oidc/tokenize, so its provider
  // clients are registered with that redirect URI: its settings keep the registration working.
  const fromContrib = loaded.legacy.some(
    (name) => name.from === 'jitsi-contrib/jitsi-oidc-adapter' && name.target !== undefined,
  )
  const callbackPath =
    fromContrib && read.isDefault('ADAPTER_CALLBACK_PATH')
      ? '/oidc/tokenize'
      : read.string('ADAPTER_CALLBACK_PATH')!

  return {
    baseUrl,
    adapterPublicUrl,
    redirectUri: new URL(callbackPath.slice(1), adapterPublicUrl).href,
    skipPrejoin: read.boolean('JITSI_SKIP_PREJOIN'),
    legacyPrejoinFlag: read.boolean('JITSI_LEGACY_PREJOIN_FLAG'),
    appAutoReturn: read.boolean('JITSI_APP_AUTO_RETURN'),
    cancelReturnsToRoom: read.boolean('JITSI_CANCEL_RETURNS_TO_ROOM'),
  }
}

/** A query, a fragment or credentials: parts a site or origin URL setting must not carry. */
function hasQueryOrCredentials(url: URL): boolean {
  return Boolean(url.search || url.hash || url.username || url.password)
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
      `must be at least 16 characters, got a value of ${secret.length} characters; generate one with "openssl rand -hex 32" and give Prosody the same app_secret (docker: JWT_APP_SECRET)`,
    )
  }
  if (!issuer) {
    problems.required('JWT_APP_ID', "is required: set it to Prosody's app_id (docker: JWT_APP_ID)")
  }
  // Prosody compares `sub` with its XMPP domain: one host name, or "*" for any.
  const subject = read.string('JWT_SUBJECT')
  if (
    subject !== undefined &&
    subject !== '*' &&
    !/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(subject)
  ) {
    problems.add(
      read.origin('JWT_SUBJECT'),
      `must be one XMPP domain such as "meet.jitsi", or "*", got "${subject}"`,
    )
  }
  if (!secret || !issuer || !baseUrl) return undefined

  return {
    secret: new TextEncoder().encode(secret),
    algorithm: read.string('JWT_ALGORITHM') as TokenConfig['algorithm'],
    issuer,
    audience: read.string('JWT_AUDIENCE')!,
    subject: subject ?? baseUrl.hostname,
    lifetimeSeconds: read.integer('JWT_LIFETIME_SECONDS'),
    notBeforeSkewSeconds: read.integer('JWT_NOT_BEFORE_SKEW_SECONDS'),
    roomScope: read.string('JWT_ROOM_SCOPE') as TokenConfig['roomScope'],
    delivery: read.string('JWT_DELIVERY') as TokenConfig['delivery'],
  }
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

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Map) && !ArrayBuffer.isView(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
