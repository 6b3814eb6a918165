import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'

import { buildConfig } from '../../src/config/index.js'
import { buildApp } from '../../src/http/app.js'
import { OidcProvider } from '../../src/oidc/provider.js'
import { findFreePort } from '../support/harness.js'

/** An adapter whose provider cannot be reached: every route but the login must still answer. */
describe('HTTP app with the provider unreachable', () => {
  let app: FastifyInstance
  let provider: OidcProvider

  before(async () => {
    const closedPort = await findFreePort()
    const config = buildConfig({
      env: {
        OIDC_ISSUER_URL: `http://127.0.0.1:${closedPort}`,
        OIDC_ALLOW_HTTP: 'true',
        OIDC_CLIENT_ID: 'jitsi',
        OIDC_TIMEOUT_SECONDS: '1',
        JITSI_BASE_URL: 'https://meet.example.com',
        JWT_APP_ID: 'jitsi_app',
        JWT_APP_SECRET: 'app-secret-0123456789',
      },
    })
    const logger = pino({ level: 'silent' })
    provider = new OidcProvider(config.oidc, logger)
    app = await buildApp({ config, provider, logger })
    await provider.start()
  })
  after(async () => {
    provider.stop()
    await app.close()
  })

  it('answers /oidc/health with 200 while the process serves', async () => {
    const response = await app.inject('/oidc/health')
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), { status: 'ok', service: 'jitsi-oidc-adapter' })
  })

  it('answers /oidc/ready with 503 and the reason code, without configuration values', async () => {
    const response = await app.inject('/oidc/ready')
    assert.equal(response.statusCode, 503)
    const body = response.json() as Record<string, unknown>
    assert.equal(body['status'], 'not-ready')
    assert.equal(body['code'], 'ERR_OIDC_PROVIDER_UNAVAILABLE')
    assert.doesNotMatch(response.body, /127\.0\.0\.1|jitsi_app|meet\.example\.com/)
  })

  it('gives a login a 503 page that says the provider is unavailable', async () => {
    const response = await app.inject('/oidc/auth?roomname=standup')
    assert.equal(response.statusCode, 503)
    assert.match(response.headers['content-type'] as string, /^text\/html/)
    assert.match(response.body, /Identity provider unavailable/)
    assert.match(response.body, /ERR_OIDC_PROVIDER_UNAVAILABLE/)
    assert.match(response.body, /href="https:\/\/meet\.example\.com\/"/)
  })

  it('answers JSON to clients that ask for it, with the stable code and request id', async () => {
    const response = await app.inject({
      url: '/oidc/auth',
      headers: { accept: 'application/json' },
    })
    assert.equal(response.statusCode, 400)
    const body = response.json() as { error: Record<string, unknown> }
    assert.equal(body.error['code'], 'ERR_JITSI_ROOM_MISSING')
    assert.equal(body.error['requestId'], response.headers['x-request-id'])
  })

  it('weighs the Accept header: JSON only for clients that prefer it to a page', async () => {
    const table: Array<[string | undefined, string]> = [
      [undefined, 'text/html'],
      ['*/*', 'text/html'],
      ['application/json;q=0.1, text/html', 'text/html'],
      ['text/html, application/json', 'text/html'],
      ['application/json, text/html', 'application/json'],
      ['application/json, */*;q=0.8', 'application/json'],
      ['application/*', 'application/json'],
    ]
    for (const [accept, type] of table) {
      const response = await app.inject({
        url: '/oidc/auth',
        headers: accept === undefined ? {} : { accept },
      })
      assert.equal(response.statusCode, 400)
      assert.ok(String(response.headers['content-type']).startsWith(type), String(accept))
    }
  })

  it('answers unknown paths with a 404 page carrying the security headers', async () => {
    const response = await app.inject('/oidc/nope')
    assert.equal(response.statusCode, 404)
    assert.match(response.body, /ERR_HTTP_NOT_FOUND/)
    assert.equal(response.headers['cache-control'], 'no-store')
    assert.equal(response.headers['referrer-policy'], 'no-referrer')
    assert.equal(response.headers['x-content-type-options'], 'nosniff')
    assert.match(response.headers['content-security-policy'] as string, /default-src 'none'/)
  })

  it('answers methods other than GET with 405 and an Allow header', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
      const response = await app.inject({
        method,
        url: '/oidc/auth',
        headers: { accept: 'application/json' },
      })
      assert.equal(response.statusCode, 405, method)
      assert.equal(response.headers['allow'], 'GET')
      assert.equal(
        (response.json() as { error: { code: string } }).error.code,
        'ERR_HTTP_METHOD_NOT_ALLOWED',
      )
    }
  })

  it('answers 405 to a body of any type, a form_post callback included', async () => {
    for (const [type, payload] of [
      ['application/x-www-form-urlencoded', 'code=a&state=b'],
      ['application/json', '{'],
      ['text/plain', 'x'],
    ]) {
      const response = await app.inject({
        method: 'POST',
        url: '/oidc/redirect',
        headers: { 'content-type': type!, accept: 'application/json' },
        payload: payload!,
      })
      assert.equal(response.statusCode, 405, type)
      assert.equal(response.headers['allow'], 'GET', type)
    }
  })

  it('refuses HEAD where a GET changes something, and answers it on the probes', async () => {
    // A HEAD on the callback used to redeem the code and mint a token for nobody to see.
    for (const url of [
      '/oidc/auth?roomname=standup',
      '/oidc/redirect?code=c&state=s',
      '/oidc/tokenize',
      '/oidc/logout',
    ]) {
      const response = await app.inject({ method: 'HEAD', url })
      assert.equal(response.statusCode, 405, url)
      assert.equal(response.headers['allow'], 'GET', url)
      assert.equal(response.headers['set-cookie'], undefined, url)
      assert.equal(response.headers['location'], undefined, url)
    }
    for (const url of ['/oidc/health', '/oidc/ready']) {
      const response = await app.inject({ method: 'HEAD', url })
      assert.ok(response.statusCode === 200 || response.statusCode === 503, url)
      const post = await app.inject({ method: 'POST', url })
      assert.equal(post.headers['allow'], 'GET, HEAD', url)
    }
  })

  it('keeps a plain X-Request-Id from the proxy and replaces one that could forge log lines', async () => {
    const kept = await app.inject({
      url: '/oidc/health',
      headers: { 'x-request-id': 'abc-123.def' },
    })
    assert.equal(kept.headers['x-request-id'], 'abc-123.def')

    const replaced = await app.inject({
      url: '/oidc/health',
      headers: { 'x-request-id': 'x"\n{"level":60}' },
    })
    assert.match(replaced.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/)
  })
})

describe('access lines', () => {
  /** The app at `level`, with its log lines parsed; the provider is never reached. */
  async function appLoggingAt(level: 'info' | 'debug') {
    const config = buildConfig({
      env: {
        OIDC_ISSUER_URL: `http://127.0.0.1:${await findFreePort()}`,
        OIDC_ALLOW_HTTP: 'true',
        OIDC_CLIENT_ID: 'jitsi',
        JITSI_BASE_URL: 'https://meet.example.com',
        JWT_APP_ID: 'jitsi_app',
        JWT_APP_SECRET: 'app-secret-0123456789',
      },
    })
    const lines: Array<Record<string, unknown>> = []
    const logger = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line)) })
    const provider = new OidcProvider(config.oidc, pino({ level: 'silent' }))
    const app = await buildApp({ config, provider, logger })
    const accessLines = () => lines.filter((line) => line['msg'] === 'request completed')
    return { app, accessLines }
  }

  it('at info, log refused requests only: a login has its auth.* line, probes stay quiet', async () => {
    const { app, accessLines } = await appLoggingAt('info')
    assert.equal((await app.inject('/oidc/health')).statusCode, 200)
    assert.deepEqual(accessLines(), [])

    assert.equal((await app.inject('/oidc/no-such-page')).statusCode, 404)
    assert.equal(accessLines().length, 1)
    const [line] = accessLines()
    assert.equal(line!['level'], 30)
    assert.equal((line!['res'] as { statusCode: number }).statusCode, 404)
    await app.close()
  })

  it('at debug, log every request', async () => {
    const { app, accessLines } = await appLoggingAt('debug')
    await app.inject('/oidc/health')
    await app.inject('/oidc/no-such-page')
    assert.deepEqual(
      accessLines().map((line) => [
        line['level'],
        (line['res'] as { statusCode: number }).statusCode,
      ]),
      [
        [20, 200],
        [30, 404],
      ],
    )
    await app.close()
  })
})
