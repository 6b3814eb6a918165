import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

import { errorCatalogue } from './errors.js'
import type { LoginCounters } from './http/events.js'
import type { ProviderEndpoints, ProviderHooks, ProviderStatus } from './oidc/provider.js'

/** Every metric name the adapter itself defines; the Grafana dashboard may use only these. */
export const metricNames = {
  loginsStarted: 'jitsi_oidc_adapter_logins_started_total',
  loginsCompleted: 'jitsi_oidc_adapter_logins_completed_total',
  loginsFailed: 'jitsi_oidc_adapter_logins_failed_total',
  loginsRefused: 'jitsi_oidc_adapter_logins_refused_total',
  idpRequestDuration: 'jitsi_oidc_adapter_idp_request_duration_seconds',
  jwksRefreshes: 'jitsi_oidc_adapter_jwks_refreshes_total',
  providerState: 'jitsi_oidc_adapter_provider_state',
} as const

const clients = ['web', 'ios', 'android', 'electron']
const providerStates: ReadonlyArray<ProviderStatus['state']> = ['starting', 'ready', 'unavailable']
const endpointNames = ['discovery', 'jwks', 'token', 'userinfo', 'end_session', 'other']

export interface ServiceMetrics {
  registry: Registry
  counters: LoginCounters
  providerHooks: ProviderHooks
}

/**
 * Builds the adapter's metrics on a registry of its own: login outcomes (through the
 * `LoginCounters` the HTTP layer calls), provider call latencies and state (through
 * `ProviderHooks`), and Node's process metrics. Label values are bounded: known clients,
 * catalogued error codes and named endpoints only, so a caller cannot grow the series.
 */
export function buildMetrics(options: { discoveryUrl?: string } = {}): ServiceMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })

  const started = new Counter({
    name: metricNames.loginsStarted,
    help: 'Logins started at /oidc/auth, by meeting client.',
    labelNames: ['client'],
    registers: [registry],
  })
  const completed = new Counter({
    name: metricNames.loginsCompleted,
    help: 'Logins that ended with a Jitsi token, by whether the host became moderator.',
    labelNames: ['moderator'],
    registers: [registry],
  })
  const failed = new Counter({
    name: metricNames.loginsFailed,
    help: 'Logins that ended without a token, by error code (cancelled at the provider: ERR_OIDC_ACCESS_DENIED).',
    labelNames: ['code'],
    registers: [registry],
  })
  const refused = new Counter({
    name: metricNames.loginsRefused,
    help: 'Logins the access policy refused (also counted as failed with ERR_POLICY_DENIED).',
    registers: [registry],
  })
  const idpDuration = new Histogram({
    name: metricNames.idpRequestDuration,
    help: 'Calls to the identity provider that got an answer, by endpoint and status class.',
    labelNames: ['endpoint', 'status_class'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const jwksRefreshes = new Counter({
    name: metricNames.jwksRefreshes,
    help: 'JWKS fetches after the provider became ready: key rotation or an unknown key id.',
    registers: [registry],
  })
  const providerState = new Gauge({
    name: metricNames.providerState,
    help: 'Discovery state of the identity provider: 1 for the current state, 0 for the others.',
    labelNames: ['state'],
    registers: [registry],
  })

  // Series that exist from the start make rate() and absent-alerts work before the first event.
  for (const client of clients) started.inc({ client }, 0)
  for (const moderator of ['true', 'false']) completed.inc({ moderator }, 0)
  for (const code of Object.keys(errorCatalogue)) failed.inc({ code }, 0)
  for (const state of providerStates) providerState.set({ state }, state === 'starting' ? 1 : 0)

  let state: ProviderStatus['state'] = 'starting'
  const classify = buildEndpointClassifier(options.discoveryUrl)

  return {
    registry,
    counters: {
      started: (client) => started.inc({ client: clients.includes(client) ? client : 'other' }),
      completed: (moderator) => completed.inc({ moderator: String(moderator) }),
      failed: (code) => failed.inc({ code: code in errorCatalogue ? code : 'other' }),
      refused: () => refused.inc(),
    },
    providerHooks: {
      onCall({ endpoint, status, durationMs }) {
        const name = classify.name(endpoint)
        idpDuration.observe(
          { endpoint: name, status_class: `${Math.floor(status / 100)}xx` },
          durationMs / 1000,
        )
        // The first JWKS is loaded during discovery; any later fetch is openid-client
        // refreshing its cache.
        if (name === 'jwks' && state === 'ready') jwksRefreshes.inc()
      },
      onStatus(status) {
        state = status.state
        for (const each of providerStates)
          providerState.set({ state: each }, each === state ? 1 : 0)
      },
      onEndpoints: (endpoints) => classify.learn(endpoints),
    },
  }
}

/** Turns a provider URL path into one of a few endpoint names, once discovery has named them. */
function buildEndpointClassifier(discoveryUrl: string | undefined) {
  const byPath = new Map<string, string>()
  if (discoveryUrl) byPath.set(new URL(discoveryUrl).pathname, 'discovery')

  return {
    learn(endpoints: ProviderEndpoints) {
      for (const [name, url] of Object.entries(endpoints)) {
        if (url && endpointNames.includes(name)) byPath.set(new URL(url).pathname, name)
      }
    },
    name(path: string): string {
      if (path.endsWith('/.well-known/openid-configuration')) return 'discovery'
      return byPath.get(path) ?? 'other'
    },
  }
}

export interface MetricsListener {
  url: string
  close(): Promise<void>
}

/**
 * Serves `GET /metrics` in the Prometheus text format on a listener of its own, so the public
 * nginx location `/oidc/` can never expose it.
 */
export async function startMetricsListener(
  registry: Registry,
  address: { host: string; port: number },
): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
    )
  })
  server.listen(address.port, address.host)
  await once(server, 'listening')

  const { port } = server.address() as AddressInfo
  const host = address.host.includes(':') ? `[${address.host}]` : address.host
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
