import type { FastifyInstance } from 'fastify'

import type { Config } from '../config/index.js'
import { describeLegacySetting } from '../config/legacy.js'
import { buildApp } from '../http/app.js'
import type { LoginCounters } from '../http/events.js'
import type { Logger } from '../log.js'
import type { MetricsListener } from '../metrics.js'
import { OidcProvider, type ProviderHooks } from '../oidc/provider.js'

export interface RunningService {
  app: FastifyInstance
  provider: OidcProvider
  /** The address actually bound (the port may have been 0). */
  url: string
  /** `http://host:port/metrics` when `METRICS_PORT` is set. */
  metricsUrl?: string
  close(): Promise<void>
}

export interface ServeOptions {
  config: Config
  logger: Logger
  /** Replace the Prometheus counters and hooks that `METRICS_PORT` would wire. */
  counters?: LoginCounters
  providerHooks?: ProviderHooks
}

/**
 * Starts the service: the listener first, so health checks answer at once, then discovery,
 * which retries in the background while the provider is down.
 */
export async function startService(options: ServeOptions): Promise<RunningService> {
  const { config, logger } = options
  logStartup(config, logger)

  // prom-client is loaded only when metrics are on: it costs memory at idle otherwise.
  const metricsModule =
    config.metrics.port === undefined ? undefined : await import('../metrics.js')
  const metrics = metricsModule?.buildMetrics(
    config.oidc.discoveryUrl ? { discoveryUrl: config.oidc.discoveryUrl } : {},
  )
  const counters = options.counters ?? metrics?.counters
  const provider = new OidcProvider(
    config.oidc,
    logger,
    options.providerHooks ?? metrics?.providerHooks,
  )
  const app = await buildApp({ config, provider, logger, ...(counters ? { counters } : {}) })
  const { host, port } = config.server
  const url = await openOrExplain(() => app.listen({ host, port }), app, 'HOST/PORT', host, port)
  let metricsListener: MetricsListener | undefined
  if (metrics) {
    const { host: metricsHost, port: metricsPort } = config.metrics
    metricsListener = await openOrExplain(
      () =>
        metricsModule!.startMetricsListener(metrics.registry, {
          host: metricsHost,
          port: metricsPort!,
        }),
      app,
      'METRICS_HOST/METRICS_PORT',
      metricsHost,
      metricsPort!,
    )
    logger.info(
      { event: 'metrics.listening', url: metricsListener.url },
      `metrics at ${metricsListener.url}`,
    )
  }
  await provider.start()

  return {
    app,
    provider,
    url,
    ...(metricsListener ? { metricsUrl: metricsListener.url } : {}),
    async close() {
      provider.stop()
      await Promise.all([app.close(), metricsListener?.close()])
    },
  }
}

function logStartup(config: Config, logger: Logger): void {
  for (const warning of config.warnings) logger.warn({ event: 'config.warning' }, warning)
  for (const legacy of config.legacy) {
    const fields = { event: 'config.legacy', name: legacy.name, target: legacy.target }
    logger.info(fields, describeLegacySetting(legacy))
  }

  const adapter = config.jitsi.adapterPublicUrl.href
  logger.info(
    {
      event: 'config.summary',
      issuer: config.oidc.issuer ?? config.oidc.discoveryUrl,
      redirectUri: config.jitsi.redirectUri,
      jitsi: config.jitsi.baseUrl.href,
      jwtIssuer: config.token.issuer,
      jwtAudience: config.token.audience,
      jwtSubject: config.token.subject,
      roomScope: config.token.roomScope,
      // K30: the exact line for Jitsi's config.js, so a missing nginx location is easy to spot.
      tokenAuthUrl: `${adapter}oidc/auth?state={state}`,
    },
    `register ${config.jitsi.redirectUri} at the provider; set config.tokenAuthUrl = '${adapter}oidc/auth?state={state}' in Jitsi; nginx must forward location /oidc/ to this service`,
  )
}

/**
 * Opens a listener; if it cannot open, closes the app and fails naming the settings to change,
 * not only the system's code.
 */
async function openOrExplain<T>(
  open: () => Promise<T>,
  app: { close(): Promise<unknown> },
  settings: string,
  host: string,
  port: number,
): Promise<T> {
  try {
    return await open()
  } catch (error) {
    await app.close()
    throw listenError(error, settings, host, port)
  }
}

function listenError(error: unknown, settings: string, host: string, port: number): Error {
  const code = (error as NodeJS.ErrnoException).code ?? 'error'
  const hint =
    code === 'EADDRINUSE'
      ? 'another process listens there; stop it or choose another port'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'the host name does not resolve; use an address such as 127.0.0.1 or 0.0.0.0'
        : code === 'EADDRNOTAVAIL'
          ? 'this machine has no such address; use one of its addresses, 127.0.0.1 or 0.0.0.0'
          : code === 'EACCES'
            ? 'ports below 1024 need privileges; use a higher port behind nginx'
            : 'check the address and port'
  return new Error(`${settings}: cannot listen on ${host}:${port} (${code}): ${hint}`, {
    cause: error,
  })
}
