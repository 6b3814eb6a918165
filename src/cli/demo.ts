import { buildConfig } from '../config/index.js'
import type { SettingSpec } from '../config/schema.js'
import { metricsSettings } from '../config/settings/metrics.js'
import { policySettings } from '../config/settings/policy.js'
import { loggingSettings } from '../config/settings/server.js'
import { createLogger } from '../log.js'
import { startService } from './serve.js'

const demoSecret = 'demo-only-app-secret-change-me'

/**
 * The demo: a development identity provider, a stand-in meeting page and the adapter, each on
 * its own loopback port, wired exactly as an admin would wire the real ones. It adds no code
 * path to the product: the adapter runs through the same `startService` as `serve`.
 */
export async function runDemo(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // The demo's helpers live outside the published package and use development dependencies.
  const [{ startDevIdp }, { startMeetingPage }] = await Promise.all([
    import('../../demo/idp.js'),
    import('../../demo/meeting.js'),
  ]).catch(() => {
    throw new Error(
      'the demo needs a checkout with development dependencies: run "npm ci && npm run demo"',
    )
  })

  const host = '127.0.0.1'
  const adapterPort = Number(env['DEMO_ADAPTER_PORT'] ?? 8000)
  const adapterUrl = `http://${host}:${adapterPort}`

  const idp = await startDevIdp({
    port: Number(env['DEMO_IDP_PORT'] ?? 9000),
    clients: [
      {
        client_id: 'jitsi-demo',
        client_secret: 'demo-only-client-secret',
        redirect_uris: [`${adapterUrl}/oidc/redirect`],
        post_logout_redirect_uris: [`http://${host}:${env['DEMO_MEETING_PORT'] ?? 8080}/`],
      },
    ],
  })
  const meeting = await startMeetingPage({
    port: Number(env['DEMO_MEETING_PORT'] ?? 8080),
    tokenAuthUrl: `${adapterUrl}/oidc/auth?state={state}`,
    tokenLogoutUrl: `${adapterUrl}/oidc/logout`,
  })

  const config = buildConfig({
    env: {
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_ALLOW_HTTP: 'true',
      OIDC_CLIENT_ID: 'jitsi-demo',
      OIDC_CLIENT_SECRET: 'demo-only-client-secret',
      JITSI_BASE_URL: meeting.url,
      ADAPTER_PUBLIC_URL: adapterUrl,
      JWT_APP_ID: 'jitsi_demo',
      JWT_APP_SECRET: demoSecret,
      HOST: host,
      PORT: String(adapterPort),
      LOG_LEVEL: env['LOG_LEVEL'] ?? 'info',
      LOG_FORMAT: env['LOG_FORMAT'] ?? (process.stdout.isTTY ? 'pretty' : 'json'),
      // The development provider sends groups only for this scope; the demo asks for it so
      // that the rules of docs/policy.md can be tried here.
      OIDC_SCOPES: 'openid profile email groups',
      // What an admin may try here passes through: claim mapping and access rules, logging
      // (LOG_FILE too) and metrics.
      ...pickSettings(env, [...policySettings, ...loggingSettings, ...metricsSettings]),
    },
  })
  const { logger } = await createLogger(config.logging)
  const service = await startService({ config, logger })

  process.stdout.write(`
  Demo running. Open the meeting page in a browser:

    ${meeting.url}/Standup

  Press "Log-in", sign in at the development provider with the name "ana"
  (any password; also "ben", "eve", or any other name), and you land back in the
  room with a Jitsi token whose claims the page shows.

  Identity provider: ${idp.issuer}   Adapter: ${adapterUrl}
  Press Ctrl+C to stop.

`)

  const stop = async () => {
    await service.close()
    await Promise.all([meeting.close(), idp.close()])
    process.exit(0)
  }
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())
}

function pickSettings(
  env: NodeJS.ProcessEnv,
  specs: readonly SettingSpec[],
): Record<string, string> {
  return Object.fromEntries(
    specs.flatMap((spec) => (env[spec.env] === undefined ? [] : [[spec.env, env[spec.env]!]])),
  )
}
