import { Writable } from 'node:stream'

import { pino } from 'pino'

import { startService, type RunningService } from '../../src/cli/serve.js'
import { buildConfig, type Config } from '../../src/config/index.js'
import { buildLoggerOptions } from '../../src/log.js'
import { startDevIdp, type DevIdp } from '../../demo/idp.js'

export const testAppSecret = 'test-app-secret-0123456789abcdef'
export const testClientSecret = 'test-client-secret-0123456789'
export const jitsiBaseUrl = 'https://meet.example.com'

/** Every line any adapter logged during this test process, for the leak scans. */
export const capturedLogLines: string[] = []

export interface TestAdapter {
  service: RunningService
  config: Config
  url: string
  logs: string[]
  close(): Promise<void>
}

/**
 * Starts the adapter exactly as `serve` does, on a free loopback port, with its log lines
 * captured. `env` is merged over a working test configuration.
 */
export async function startAdapter(env: Record<string, string | undefined>): Promise<TestAdapter> {
  const logs: string[] = []
  const config = buildConfig({
    env: withoutUndefined({
      OIDC_ALLOW_HTTP: 'true',
      OIDC_CLIENT_ID: 'jitsi-test',
      OIDC_CLIENT_SECRET: testClientSecret,
      JITSI_BASE_URL: jitsiBaseUrl,
      JWT_APP_ID: 'jitsi_app',
      JWT_APP_SECRET: testAppSecret,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'debug',
      ...env,
    }),
  })
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString()
      logs.push(text)
      capturedLogLines.push(text)
      done()
    },
  })
  const logger = pino(buildLoggerOptions(config.logging), stream)
  const service = await startService({ config, logger })

  return { service, config, url: service.url, logs, close: () => service.close() }
}

/** The adapter's callback URL must be registered before the adapter's port is known. */
export function adapterPublicUrl(port: number): string {
  return `http://127.0.0.1:${port}`
}

export interface Rig {
  idp: DevIdp
  adapter: TestAdapter
  close(): Promise<void>
}

/**
 * A real provider (oidc-provider) and an adapter registered at it. The adapter's port is
 * picked first so the provider can know the exact redirect URI.
 */
export async function startRig(
  options: {
    env?: Record<string, string | undefined>
    client?: Record<string, unknown>
    claimsInIdToken?: boolean
    idpConfiguration?: Record<string, unknown>
  } = {},
): Promise<Rig> {
  const port = await findFreePort()
  const publicUrl = adapterPublicUrl(port)
  const idp = await startDevIdp({
    clients: [
      {
        client_id: 'jitsi-test',
        client_secret: testClientSecret,
        redirect_uris: [`${publicUrl}/oidc/redirect`, `${publicUrl}/oidc/tokenize`],
        post_logout_redirect_uris: [`${jitsiBaseUrl}/`],
        ...options.client,
      },
    ],
    ...(options.claimsInIdToken === undefined ? {} : { claimsInIdToken: options.claimsInIdToken }),
    ...(options.idpConfiguration ? { configuration: options.idpConfiguration } : {}),
  })
  const adapter = await startAdapter({
    OIDC_ISSUER_URL: idp.issuer,
    ADAPTER_PUBLIC_URL: publicUrl,
    PORT: String(port),
    ...options.env,
  })
  return {
    idp,
    adapter,
    async close() {
      await adapter.close()
      await idp.close()
    },
  }
}

export async function findFreePort(): Promise<number> {
  const { createServer } = await import('node:net')
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function withoutUndefined(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  )
}

/** Decodes a JWT's header and payload without verifying (tests verify separately). */
export function decodeJwt(token: string): {
  header: Record<string, unknown>
  payload: Record<string, unknown>
} {
  const [header, payload] = token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
  return { header, payload }
}

/** The token from a return URL: `#jwt=%22<jwt>%22` or `?jwt=<jwt>`. */
export function tokenFromUrl(url: string): string {
  const match = /[#?&]jwt=(?:%22)?([\w-]+\.[\w-]+\.[\w-]+)/.exec(url)
  if (!match) throw new Error(`no token in ${url}`)
  return match[1]!
}
