import { Writable } from 'node:stream'

import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'

import { buildConfig, type Config } from '../../src/config/index.js'
import { buildApp } from '../../src/http/app.js'
import { buildLoggerOptions } from '../../src/log.js'
import { OidcProvider } from '../../src/oidc/provider.js'
import {
  capturedLogLines,
  findFreePort,
  startAdapter,
  testAppSecret,
  type TestAdapter,
} from '../support/harness.js'
import { startBadProvider, type BadProvider } from '../support/bad-provider.js'
import { CookieJar, get } from '../support/login-driver.js'

export const jitsiOrigin = 'https://meet.example.com'

export interface BadRig {
  provider: BadProvider
  adapter: TestAdapter
  close(): Promise<void>
}

/**
 * The adapter as `serve` runs it, registered at the misbehaving provider. The adapter's port is
 * chosen first so its callback URL is known; `env` is merged over the harness defaults.
 */
export async function startBadRig(
  env: Record<string, string | undefined> = {},
  provider?: BadProvider,
): Promise<BadRig> {
  const bad = provider ?? (await startBadProvider())
  const port = await findFreePort()
  const adapter = await startAdapter({
    OIDC_ISSUER_URL: bad.issuer,
    OIDC_CLIENT_SECRET: bad.clientSecret,
    OIDC_TIMEOUT_SECONDS: '1',
    ADAPTER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    PORT: String(port),
    ...env,
  })
  return {
    provider: bad,
    adapter,
    async close() {
      await adapter.close()
      if (!provider) await bad.close()
    },
  }
}

export interface BadLogin {
  jar: CookieJar
  start: Response
  authorizationUrl: string
  callbackUrl: string
  callback: Response
  body: string
  location: string | null
}

/** One login the way a browser makes it: start, provider, callback. */
export async function loginAt(
  rig: BadRig,
  options: {
    query?: string
    jar?: CookieJar
    accept?: string
    /** Changes the callback URL before the browser follows it. */
    tamper?: (callbackUrl: URL) => void
  } = {},
): Promise<BadLogin> {
  const jar = options.jar ?? new CookieJar()
  const headers: Record<string, string> = options.accept ? { accept: options.accept } : {}
  const start = await get(
    `${rig.adapter.url}/oidc/auth?${options.query ?? 'roomname=standup'}`,
    jar,
  )
  if (start.status !== 302) throw new Error(`login start answered ${start.status}`)
  const authorizationUrl = start.headers.get('location')!
  const callback = new URL(await rig.provider.authorize(authorizationUrl))
  options.tamper?.(callback)
  const response = await get(callback.href, jar, headers)
  return {
    jar,
    start,
    authorizationUrl,
    callbackUrl: callback.href,
    callback: response,
    body: await response.text(),
    location: response.headers.get('location'),
  }
}

/** The stable error code in one of our pages or JSON bodies. */
export function errorCodeOf(body: string): string | undefined {
  return /\b(ERR_[A-Z0-9_]+)\b/.exec(body)?.[1]
}

/** Runs `action` with `Date.now` moved forward; oauth4webapi and jose read the clock there. */
export async function withClockAhead<T>(seconds: number, action: () => Promise<T>): Promise<T> {
  const realNow = Date.now
  Date.now = () => realNow() + seconds * 1000
  try {
    return await action()
  } finally {
    Date.now = realNow
  }
}

export interface InjectableApp {
  app: FastifyInstance
  provider: OidcProvider
  config: Config
  logs: string[]
  close(): Promise<void>
}

/**
 * The HTTP app alone, for `app.inject()`: built as `serve` builds it, with a provider that has
 * finished discovery against `bad`. Log lines go to `logs` and to the harness's leak capture.
 */
export async function buildInjectableApp(
  bad: BadProvider,
  env: Record<string, string> = {},
  options: { now?: () => number } = {},
): Promise<InjectableApp> {
  const config = buildConfig({
    env: {
      OIDC_ALLOW_HTTP: 'true',
      OIDC_ISSUER_URL: bad.issuer,
      OIDC_CLIENT_ID: 'jitsi-test',
      OIDC_CLIENT_SECRET: bad.clientSecret,
      OIDC_TIMEOUT_SECONDS: '1',
      JITSI_BASE_URL: jitsiOrigin,
      ADAPTER_PUBLIC_URL: 'https://meet.example.com',
      JWT_APP_ID: 'jitsi_app',
      JWT_APP_SECRET: testAppSecret,
      LOG_LEVEL: 'debug',
      ...env,
    },
  })
  const logs: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString())
      capturedLogLines.push(chunk.toString())
      done()
    },
  })
  const logger = pino(buildLoggerOptions(config.logging), stream)
  const provider = new OidcProvider(config.oidc, logger)
  await provider.start()
  const app = await buildApp({
    config,
    provider,
    logger,
    ...(options.now ? { now: options.now } : {}),
  })
  await app.ready()
  return {
    app,
    provider,
    config,
    logs,
    async close() {
      provider.stop()
      await app.close()
    },
  }
}

/**
 * Every credential a login put on the wire, from the provider's side and from the browser's:
 * what K50 says must never reach a log line or an error page.
 */
export function collectSecrets(
  provider: BadProvider,
  extra: readonly string[] = [],
): Array<{ what: string; value: string }> {
  const secrets: Array<{ what: string; value: string }> = [
    { what: 'client secret', value: provider.clientSecret },
    { what: 'app secret', value: testAppSecret },
    {
      what: 'basic credentials',
      value: Buffer.from(`${provider.clientId}:${provider.clientSecret}`).toString('base64'),
    },
  ]
  for (const code of provider.issued.codes)
    secrets.push({ what: 'authorization code', value: code })
  for (const token of provider.issued.idTokens) {
    secrets.push({ what: 'ID token', value: token })
    const signature = token.split('.')[2]
    if (signature) secrets.push({ what: 'ID token signature', value: signature })
  }
  for (const token of provider.issued.accessTokens)
    secrets.push({ what: 'access token', value: token })
  for (const token of provider.issued.refreshTokens)
    secrets.push({ what: 'refresh token', value: token })
  for (const verifier of provider.issued.verifiers)
    secrets.push({ what: 'PKCE verifier', value: verifier })
  for (const value of extra) secrets.push({ what: 'seen on the wire', value })
  return secrets.filter((secret) => secret.value.length >= 12)
}

/** The secrets found in `texts`, by kind; an empty list is the only passing answer. */
export function findLeaks(
  texts: readonly string[],
  secrets: ReadonlyArray<{ what: string; value: string }>,
): string[] {
  const haystack = texts.join('\n')
  return secrets
    .filter((secret) => haystack.includes(secret.value))
    .map((secret) => `${secret.what} (${secret.value.slice(0, 6)}…)`)
}
