import type { LogSettings } from '../log.js'
import type { LoadedSettings } from './load.js'
import type { ResolvedSetting } from './schema.js'
import type { MetricsConfig } from './settings/metrics.js'
import type { PolicyConfig } from './settings/policy.js'
import type { SecurityConfig } from './settings/security.js'

/** The one frozen configuration every module reads, built by `buildConfig`. */
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

/** What the logger needs, with the name LOG_FILE was set under always known. */
export interface LoggingConfig extends LogSettings {
  fileSetting: string
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
