import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { buildConfig, ConfigError } from '../../src/config/index.js'
import { buildMetrics, metricNames } from '../../src/metrics.js'
import { startRig, type Rig } from '../support/harness.js'
import { runLogin } from '../support/login-driver.js'
import { repoRoot } from './support.js'

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Parses the Prometheus text format (the subset prom-client writes). */
function parseSamples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line)
      if (!match) throw new Error(`not a sample line: ${line}`)
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
      )
      return { name: match[1]!, labels, value: Number(match[3]) }
    })
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  )
  assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples`)
  return found[0]!.value
}

describe('metrics after real logins', () => {
  let rig: Rig
  let samples: Sample[]
  let response: Response

  before(async () => {
    rig = await startRig({ env: { METRICS_PORT: '0', ALLOWED_EMAIL_DOMAINS: 'example.org' } })
    const start = `${rig.adapter.url}/oidc/auth?roomname=standup`
    for (const login of ['ana', 'ana', 'eve']) await runLogin(start, { login })
    await runLogin(start, { login: undefined })
    response = await fetch(rig.adapter.service.metricsUrl!)
    samples = parseSamples(await response.text())
  })
  after(() => rig.close())

  it('serves the Prometheus text format on a loopback listener of its own', () => {
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
    assert.match(rig.adapter.service.metricsUrl!, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    assert.notEqual(new URL(rig.adapter.service.metricsUrl!).port, new URL(rig.adapter.url).port)
  })

  it('does not serve metrics on the login listener that nginx exposes', async () => {
    const onLoginPort = await fetch(`${rig.adapter.url}/metrics`)
    assert.equal(onLoginPort.status, 404)
    const oidcPath = await fetch(`${rig.adapter.url}/oidc/metrics`)
    assert.equal(oidcPath.status, 404)
  })

  it('counts logins started, completed, failed by code and refused by policy', () => {
    assert.equal(valueOf(samples, metricNames.loginsStarted, { client: 'web' }), 4)
    assert.equal(valueOf(samples, metricNames.loginsStarted, { client: 'ios' }), 0)
    assert.equal(valueOf(samples, metricNames.loginsCompleted, { moderator: 'true' }), 2)
    assert.equal(valueOf(samples, metricNames.loginsCompleted, { moderator: 'false' }), 0)
    assert.equal(valueOf(samples, metricNames.loginsFailed, { code: 'ERR_POLICY_DENIED' }), 1)
    assert.equal(valueOf(samples, metricNames.loginsFailed, { code: 'ERR_OIDC_ACCESS_DENIED' }), 1)
    assert.equal(valueOf(samples, metricNames.loginsFailed, { code: 'ERR_INTERNAL' }), 0)
    assert.equal(valueOf(samples, metricNames.loginsRefused), 1)
  })

  it('times provider calls per endpoint, and counts no JWKS refresh while keys are stable', () => {
    const count = `${metricNames.idpRequestDuration}_count`
    assert.equal(valueOf(samples, count, { endpoint: 'discovery', status_class: '2xx' }), 1)
    assert.equal(valueOf(samples, count, { endpoint: 'jwks', status_class: '2xx' }), 1)
    assert.equal(valueOf(samples, count, { endpoint: 'token', status_class: '2xx' }), 3)
    assert.ok(!samples.some((sample) => sample.labels['endpoint'] === 'other'))
    assert.equal(valueOf(samples, metricNames.jwksRefreshes), 0)
  })

  it('shows the provider as ready', () => {
    assert.equal(valueOf(samples, metricNames.providerState, { state: 'ready' }), 1)
    assert.equal(valueOf(samples, metricNames.providerState, { state: 'starting' }), 0)
    assert.equal(valueOf(samples, metricNames.providerState, { state: 'unavailable' }), 0)
  })

  it('includes the process metrics', () => {
    assert.ok(valueOf(samples, 'process_resident_memory_bytes') > 0)
    assert.ok(valueOf(samples, 'process_cpu_seconds_total') > 0)
  })
})

describe('metrics hooks', () => {
  it('counts a JWKS fetch as a refresh only after the provider is ready', async () => {
    const { registry, providerHooks } = buildMetrics()
    providerHooks.onEndpoints!({ jwks: 'https://idp.example/keys', token: 'https://idp.example/t' })
    providerHooks.onCall!({ endpoint: '/keys', status: 200, durationMs: 12 })
    providerHooks.onStatus!({ state: 'ready', issuer: 'https://idp.example', since: '' })
    providerHooks.onCall!({ endpoint: '/keys', status: 200, durationMs: 8 })
    providerHooks.onCall!({ endpoint: '/keys', status: 200, durationMs: 9 })
    providerHooks.onCall!({ endpoint: '/t', status: 400, durationMs: 30 })

    const samples = parseSamples(await registry.metrics())
    assert.equal(valueOf(samples, metricNames.jwksRefreshes), 2)
    const count = `${metricNames.idpRequestDuration}_count`
    assert.equal(valueOf(samples, count, { endpoint: 'jwks' }), 3)
    assert.equal(valueOf(samples, count, { endpoint: 'token', status_class: '4xx' }), 1)
  })

  it('keeps label values bounded: unknown clients and codes become "other"', async () => {
    const { registry, counters } = buildMetrics()
    counters.started('<script>')
    counters.failed('ERR_MADE_UP')
    const samples = parseSamples(await registry.metrics())
    assert.equal(valueOf(samples, metricNames.loginsStarted, { client: 'other' }), 1)
    assert.equal(valueOf(samples, metricNames.loginsFailed, { code: 'other' }), 1)
  })
})

describe('metrics configuration', () => {
  const env = {
    OIDC_ISSUER_URL: 'https://idp.example/realms/jitsi',
    OIDC_CLIENT_ID: 'jitsi',
    OIDC_CLIENT_SECRET: 'client-secret-value',
    JITSI_BASE_URL: 'https://meet.example',
    JWT_APP_ID: 'jitsi_app',
    JWT_APP_SECRET: 'app-secret-0123456789',
  }

  it('is off by default and listens on loopback when a port is given', () => {
    assert.deepEqual(buildConfig({ env }).metrics, { host: '127.0.0.1' })
    assert.deepEqual(buildConfig({ env: { ...env, METRICS_PORT: '9464' } }).metrics, {
      host: '127.0.0.1',
      port: 9464,
    })
  })

  it('refuses a metrics port equal to the login port', () => {
    assert.throws(
      () => buildConfig({ env: { ...env, PORT: '8000', METRICS_PORT: '8000' } }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.some((problem) => problem.setting === 'METRICS_PORT'),
    )
  })
})

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(
    readFileSync(join(repoRoot, 'deploy/grafana/jitsi-oidc-adapter.json'), 'utf8'),
  ) as { uid: string; panels: Array<{ type: string; targets?: Array<{ expr: string }> }> }
  const expressions = dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => target.expr),
  )
  const used = new Set(
    expressions.flatMap((expr) =>
      [...expr.matchAll(/\b(?:jitsi_oidc_adapter|process|nodejs)_\w+/g)].map((m) => m[0]),
    ),
  )

  it('uses only metric names the service exports', async () => {
    const exported = new Set(
      (await buildMetrics().registry.getMetricsAsJSON()).flatMap(({ name, type }) =>
        String(type) === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
      ),
    )
    assert.ok(used.size > 0)
    for (const name of used) assert.ok(exported.has(name), `the dashboard uses ${name}`)
  })

  it('graphs every metric the adapter defines', () => {
    const stems = [...used].map((name) => name.replace(/_(bucket|sum|count)$/, ''))
    for (const name of Object.values(metricNames))
      assert.ok(stems.includes(name), `no panel uses ${name}`)
  })
})
