import * as client from 'openid-client'

import type { OidcConfig } from '../config/index.js'
import { AppError } from '../errors.js'
import type { Logger } from '../log.js'
import { toAppError } from './errors.js'
import { buildProviderFetch, type ProviderFetch } from './fetch.js'

/** What `/oidc/ready` and `check` report. Never carries configuration values beyond the issuer. */
export type ProviderStatus =
  | { state: 'starting' }
  | { state: 'ready'; issuer: string; since: string }
  | { state: 'unavailable'; code: string; reason: string; retryInSeconds: number }

/** The provider's endpoint URLs by name, as discovery (or static configuration) gave them. */
export type ProviderEndpoints = Partial<
  Record<'authorization' | 'token' | 'jwks' | 'userinfo' | 'end_session', string>
>

export interface ProviderHooks {
  onCall?: (call: { endpoint: string; status: number; durationMs: number }) => void
  onStatus?: (status: ProviderStatus) => void
  /** Called before the JWKS is fetched, so an observer can name the paths `onCall` reports. */
  onEndpoints?: (endpoints: ProviderEndpoints) => void
}

/** Algorithms accepted for ID tokens when static endpoints give no list: asymmetric only. */
const staticSigningAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]

const firstRetrySeconds = 1
const maxRetrySeconds = 60

/**
 * The identity provider as the adapter knows it: discovery and the JWKS are fetched once at
 * start-up (and the JWKS refreshed by openid-client when a key ages or an unknown `kid` shows
 * up), never per login. A provider that is down at start-up is retried with backoff while the
 * service already answers, with 503 pages for logins meanwhile.
 */
export class OidcProvider {
  #configuration: client.Configuration | undefined
  #status: ProviderStatus = { state: 'starting' }
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  #endSessionEndpoint: string | undefined
  readonly #fetch: ProviderFetch

  constructor(
    private readonly config: OidcConfig,
    private readonly log: Logger,
    private readonly hooks: ProviderHooks = {},
  ) {
    const publicUrl = config.discoveryUrl ?? config.issuer!
    this.#fetch = buildProviderFetch({
      timeoutSeconds: config.timeoutSeconds,
      publicOrigin: new URL(publicUrl).origin,
      ...(config.internalBaseUrl ? { internalBaseUrl: config.internalBaseUrl } : {}),
      ...(config.caFile ? { caFile: config.caFile } : {}),
      ...(hooks.onCall ? { onResponse: hooks.onCall } : {}),
    })
  }

  get status(): ProviderStatus {
    return this.#status
  }

  /** The provider's RP-initiated logout endpoint, when it has one. */
  get endSessionEndpoint(): string | undefined {
    return this.#endSessionEndpoint
  }

  /** The issuer in use; empty until discovery has succeeded. */
  get issuer(): string {
    return this.#status.state === 'ready' ? this.#status.issuer : ''
  }

  /** The provider's configuration for a login, or a 503 while it is not known yet. */
  requireConfiguration(): client.Configuration {
    if (this.#configuration) return this.#configuration
    const detail =
      this.#status.state === 'unavailable' ? this.#status.reason : 'discovery has not finished yet'
    throw new AppError('ERR_OIDC_PROVIDER_UNAVAILABLE', { detail })
  }

  /** Resolves after the first attempt, whether it worked or not; retries go on in the background. */
  async start(): Promise<void> {
    await this.#attempt(firstRetrySeconds)
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
  }

  async #attempt(retrySeconds: number): Promise<void> {
    try {
      this.#configuration = await this.#discover()
      this.#endSessionEndpoint = this.#configuration.serverMetadata().end_session_endpoint
      this.#setStatus({
        state: 'ready',
        issuer: this.#configuration.serverMetadata().issuer,
        since: new Date().toISOString(),
      })
      this.log.info(
        { event: 'oidc.ready', iss: this.#configuration.serverMetadata().issuer },
        'identity provider ready',
      )
    } catch (error) {
      const appError = toAppError(error, 'discovery')
      this.#setStatus({
        state: 'unavailable',
        code: appError.code,
        reason: appError.message,
        retryInSeconds: retrySeconds,
      })
      this.log.error(
        {
          event: 'oidc.unavailable',
          code: appError.code,
          reason: appError.message,
          retryInSeconds: retrySeconds,
        },
        'identity provider not usable yet; retrying',
      )
      if (this.#stopped) return
      this.#timer = setTimeout(
        () => void this.#attempt(Math.min(retrySeconds * 2, maxRetrySeconds)),
        retrySeconds * 1000,
      )
      this.#timer.unref()
    }
  }

  #setStatus(status: ProviderStatus): void {
    this.#status = status
    this.hooks.onStatus?.(status)
  }

  async #discover(): Promise<client.Configuration> {
    const metadata = this.config.staticEndpoints
      ? this.#buildStaticMetadata()
      : await this.#fetchDiscovery()
    this.hooks.onEndpoints?.({
      authorization: metadata.authorization_endpoint,
      token: metadata.token_endpoint,
      jwks: metadata.jwks_uri,
      userinfo: metadata.userinfo_endpoint,
      end_session: metadata.end_session_endpoint,
    })
    const configuration = new client.Configuration(
      metadata,
      this.config.clientId,
      this.#buildClientMetadata(),
      this.#chooseClientAuth(metadata),
    )

    // Our fetch enforces OIDC_TIMEOUT_SECONDS over each whole exchange; openid-client's own
    // per-call `AbortSignal.timeout()` would only add a second timer per call (0 turns it off).
    configuration.timeout = 0
    configuration[client.customFetch] = this.#fetch
    // openid-client trusts TLS for ID tokens from the token endpoint and skips their signature
    // unless told otherwise; we always verify (defence in depth, and dev providers use http).
    client.enableNonRepudiationChecks(configuration)
    if (this.config.allowHttp) client.allowInsecureRequests(configuration)

    client.setJwksCache(configuration, {
      jwks: await this.#fetchJwks(metadata.jwks_uri!),
      uat: Math.floor(Date.now() / 1000),
    })
    this.#warnAboutScopes(metadata)
    return configuration
  }

  async #fetchDiscovery(): Promise<client.ServerMetadata> {
    const url =
      this.config.discoveryUrl ??
      `${this.config.issuer!.replace(/\/$/, '')}/.well-known/openid-configuration`
    const document = await this.#fetchJson(url, 'discovery')

    for (const field of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
      if (typeof document[field] !== 'string') {
        throw new AppError('ERR_OIDC_PROVIDER_BAD_RESPONSE', {
          detail: `discovery document at ${url} has no "${field}"`,
        })
      }
    }

    const issuer = document['issuer'] as string
    // A configured issuer that differs only by a trailing slash is the same provider (K08);
    // the ID token's `iss` is still compared exactly with the document's issuer.
    if (this.config.issuer && this.config.issuer.replace(/\/$/, '') !== issuer.replace(/\/$/, '')) {
      throw new AppError('ERR_OIDC_ISSUER_MISMATCH', {
        detail: `discovery at ${url} names issuer "${issuer}" but OIDC_ISSUER_URL is "${this.config.issuer}"; refusing to use it: set OIDC_ISSUER_URL to the provider's issuer`,
      })
    }
    return document as unknown as client.ServerMetadata
  }

  async #fetchJwks(url: string): Promise<client.JWKS> {
    const jwks = await this.#fetchJson(url, 'jwks')
    if (!Array.isArray(jwks['keys'])) {
      throw new AppError('ERR_OIDC_PROVIDER_BAD_RESPONSE', {
        detail: `JWKS at ${url} has no "keys" list`,
      })
    }
    return jwks as unknown as client.JWKS
  }

  async #fetchJson(url: string, what: string): Promise<Record<string, unknown>> {
    const response = await this.#fetch(url, { headers: { accept: 'application/json' } })
    if (!response.ok) {
      throw new AppError(
        response.status >= 500 ? 'ERR_OIDC_PROVIDER_UNAVAILABLE' : 'ERR_OIDC_PROVIDER_BAD_RESPONSE',
        {
          detail: `${what} at ${url} answered HTTP ${response.status}${suggestKeycloakPath(url, response.status)}`,
        },
      )
    }
    try {
      const body: unknown = await response.json()
      if (body && typeof body === 'object' && !Array.isArray(body))
        return body as Record<string, unknown>
    } catch {
      // falls through to the error below
    }
    throw new AppError('ERR_OIDC_PROVIDER_BAD_RESPONSE', {
      detail: `${what} at ${url} did not answer with a JSON object`,
    })
  }

  #buildStaticMetadata(): client.ServerMetadata {
    const endpoints = this.config.staticEndpoints!
    return {
      issuer: this.config.issuer!,
      authorization_endpoint: endpoints.authorization,
      token_endpoint: endpoints.token,
      jwks_uri: endpoints.jwks,
      ...(endpoints.userinfo ? { userinfo_endpoint: endpoints.userinfo } : {}),
      ...(endpoints.endSession ? { end_session_endpoint: endpoints.endSession } : {}),
      id_token_signing_alg_values_supported: staticSigningAlgorithms,
    }
  }

  #buildClientMetadata(): Partial<client.ClientMetadata> {
    return {
      ...(this.config.clientSecret ? { client_secret: this.config.clientSecret } : {}),
      [client.clockTolerance]: this.config.clockToleranceSeconds,
    }
  }

  /** K04/K05: a configured method wins; otherwise the provider's advertised list decides. */
  #chooseClientAuth(metadata: client.ServerMetadata): client.ClientAuth {
    const secret = this.config.clientSecret
    const advertised = metadata.token_endpoint_auth_methods_supported
    let method = this.config.authMethod
    if (method === 'auto') {
      method = !secret
        ? 'none'
        : !advertised ||
            advertised.includes('client_secret_basic') ||
            !advertised.includes('client_secret_post')
          ? 'client_secret_basic'
          : 'client_secret_post'
    }
    this.log.info({ event: 'oidc.client_auth', method }, 'token endpoint authentication chosen')

    if (method === 'none') return client.None()
    return method === 'client_secret_post'
      ? client.ClientSecretPost(secret)
      : client.ClientSecretBasic(secret)
  }

  #warnAboutScopes(metadata: client.ServerMetadata): void {
    const supported = metadata.scopes_supported
    if (!supported) return
    const unknown = this.config.scopes.filter((scope) => !supported.includes(scope))
    if (unknown.length > 0) {
      this.log.warn(
        { event: 'oidc.scopes_unlisted', scopes: unknown },
        'OIDC_SCOPES names scopes the provider does not list; it may refuse them',
      )
    }
  }
}

/** K09: Keycloak 17+ serves realms without the old `/auth` prefix. */
function suggestKeycloakPath(url: string, status: number): string {
  if (status !== 404 || !url.includes('/auth/realms/')) return ''
  return `; Keycloak 17 and later serve realms without "/auth": try OIDC_ISSUER_URL=${url.replace('/auth/realms/', '/realms/').replace(/\/\.well-known\/openid-configuration$/, '')}`
}
