import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import { after, before, beforeEach, describe, it } from 'node:test'

import { errorCatalogue } from '../../src/errors.js'
import { startBadProvider, type BadProvider } from '../support/bad-provider.js'
import { CookieJar, get } from '../support/login-driver.js'
import {
  buildInjectableApp,
  loginAt,
  startBadRig,
  type BadRig,
  type InjectableApp,
} from './support.js'

const htmlCsp =
  /^default-src 'none'; style-src 'sha256-[\w+/=]+'; script-src (?:'none'|(?:'sha256-[\w+/=]+' ?)+); img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/

function assertSecurityHeaders(headers: Headers, what: string): void {
  assert.equal(headers.get('cache-control'), 'no-store', what)
  assert.equal(headers.get('referrer-policy'), 'no-referrer', what)
  assert.equal(headers.get('x-content-type-options'), 'nosniff', what)
  const csp = headers.get('content-security-policy') ?? ''
  if ((headers.get('content-type') ?? '').startsWith('text/html')) assert.match(csp, htmlCsp, what)
  else assert.equal(csp, "default-src 'none'; frame-ancestors 'none'", what)
}

const allowedTags = new Set([
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'main',
  'h1',
  'p',
  'div',
  'a',
  'code',
  'strong',
  'script',
])
const allowedAttributes = new Set([
  'lang',
  'charset',
  'name',
  'content',
  'class',
  'href',
  'type',
  'id',
])

/**
 * Checks a page the way an attacker's markup would show: only the tags and attributes our
 * templates write, scripts only as hashed in the CSP or as inert JSON without `<`, and links
 * only to the Jitsi site, the apps, the adapter itself or the provider.
 */
function assertSafePage(page: string, csp: string, allowedLinkPrefixes: readonly string[]): void {
  for (const match of page.matchAll(/<\/?([a-zA-Z][\w-]*)([^>]*)>/g)) {
    const [, tag, attributes] = match
    assert.ok(allowedTags.has(tag!.toLowerCase()), `unexpected tag ${match[0]}`)
    const rest = attributes!.replace(
      /\s([a-z-]+)="([^"]*)"/g,
      (_all, name: string, value: string) => {
        assert.ok(allowedAttributes.has(name), `unexpected attribute ${name} in ${match[0]}`)
        if (name === 'href') {
          const href = value.replace(/&#(\d+);/g, (_m, code: string) =>
            String.fromCharCode(Number(code)),
          )
          assert.ok(
            allowedLinkPrefixes.some((prefix) => href.startsWith(prefix)),
            `unexpected link ${href}`,
          )
        }
        return ''
      },
    )
    assert.match(rest, /^\s*\/?$/, `stray markup in ${match[0]}`)
  }
  for (const [, attributes, body] of page.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
    if (attributes === ' type="application/json" id="return-data"') {
      assert.doesNotMatch(body!, /</)
      JSON.parse(body!)
    } else {
      const hash = createHash('sha256').update(body!.trim()).digest('base64')
      assert.ok(
        csp.includes(hash) || csp.includes(createHash('sha256').update(body!).digest('base64')),
        'script not in the CSP',
      )
    }
  }
}

describe('pages and headers under hostile input', () => {
  let rig: BadRig
  before(async () => {
    rig = await startBadRig({ RATE_LIMIT_PER_MINUTE: '0' })
  })
  after(() => rig.close())
  beforeEach(() => rig.provider.behave({}))

  const hostileRoom = '%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%3Cscript%3E'
  const hostileOverrides = {
    'config.subject': '"</script><script>alert(1)</script>',
    'config.x': { a: '<b onmouseover="x">', b: "'-alert(1)-'" },
  }

  function links(): string[] {
    return [
      rig.adapter.url,
      'https://meet.example.com/',
      'org.jitsi.meet://meet.example.com/',
      'jitsi-meet://meet.example.com/',
      'intent://meet.example.com/',
    ]
  }

  for (const platform of [{}, { ios: true }, { android: true }, { electron: true }]) {
    it(`escapes a hostile room and hostile overrides on the ${Object.keys(platform)[0] ?? 'web'} return page and the error page`, async () => {
      const state = JSON.stringify({ room: hostileRoom, ...hostileOverrides, ...platform })
      const query = `state=${encodeURIComponent(state)}`
      const login = await loginAt(rig, { query })
      if (login.callback.status === 200) {
        assertSafePage(login.body, login.callback.headers.get('content-security-policy')!, links())
      } else {
        assert.equal(login.callback.status, 302)
        assert.ok(
          login.location!.startsWith(
            'https://meet.example.com/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert1%3E%3Cscript%3E#jwt=',
          ),
        )
      }
      assertSecurityHeaders(login.callback.headers, 'return')

      rig.provider.behave({ signWith: 'none' })
      const failed = await loginAt(rig, { query })
      assert.equal(failed.callback.status, 400)
      assertSafePage(failed.body, failed.callback.headers.get('content-security-policy')!, links())
      // The guest link goes back where the login came from: the app's deep link, or the web room.
      const guestPrefix = {
        web: 'https://meet.example.com/',
        ios: 'org.jitsi.meet://meet.example.com/',
        android: 'org.jitsi.meet://meet.example.com/',
        electron: 'jitsi-meet://meet.example.com/',
      }[Object.keys(platform)[0] ?? 'web']!
      const guestHref = `href="${guestPrefix}%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert1%3E%3Cscript%3E`
      assert.ok(failed.body.includes(guestHref), guestHref)
    })
  }

  it('escapes a hostile room on the popup page and the cancel page', async () => {
    const state = JSON.stringify({ room: hostileRoom, ...hostileOverrides })
    const popup = await loginAt(rig, { query: `state=${encodeURIComponent(state)}&nonce=abc` })
    assert.equal(popup.callback.status, 200)
    assertSafePage(popup.body, popup.callback.headers.get('content-security-policy')!, links())

    rig.provider.behave({
      callbackParams: (params) => {
        params.delete('code')
        params.set('error', 'access_denied')
        params.set('error_description', '<script>alert(1)</script>')
      },
    })
    const cancelled = await loginAt(rig, { query: `state=${encodeURIComponent(state)}` })
    assert.equal(cancelled.callback.status, 403)
    assertSafePage(
      cancelled.body,
      cancelled.callback.headers.get('content-security-policy')!,
      links(),
    )
    assert.doesNotMatch(cancelled.body, /<script>alert|alert\(1\)/)
  })

  it('never reflects a hostile request id', async () => {
    const response = await fetch(`${rig.adapter.url}/oidc/nowhere`, {
      headers: { 'x-request-id': '"><script>alert(1)</script>' },
    })
    assert.equal(response.status, 404)
    assert.match(response.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/)
    assertSafePage(await response.text(), response.headers.get('content-security-policy')!, links())
  })

  it('sends the security headers on every route, redirect, error and 404', async () => {
    const jar = new CookieJar()
    const paths = [
      '/oidc/health',
      '/oidc/ready',
      '/oidc/auth?roomname=standup',
      '/oidc/auth',
      '/oidc/auth?roomname=%2F%2Fevil.example',
      '/oidc/redirect',
      '/oidc/redirect?code=x&state=y',
      '/oidc/tokenize?error=access_denied',
      '/oidc/logout',
      '/oidc/nowhere',
      '/',
      '/../../etc/passwd',
    ]
    for (const path of paths) {
      for (const accept of ['text/html', 'application/json']) {
        const response = await get(`${rig.adapter.url}${path}`, jar, { accept })
        assert.ok(response.status < 500, `${path} answered ${response.status}`)
        assertSecurityHeaders(response.headers, `${path} (${accept})`)
        await response.arrayBuffer()
      }
    }
    const post = await fetch(`${rig.adapter.url}/oidc/auth`, { method: 'POST', body: 'x' })
    assert.equal(post.status, 405)
    assert.equal(post.headers.get('allow'), 'GET')
    assertSecurityHeaders(post.headers, 'POST /oidc/auth')
  })

  it('answers a URL over 8 KB with 414 and our error body', async () => {
    const response = await fetch(`${rig.adapter.url}/oidc/auth?roomname=${'a'.repeat(8200)}`, {
      headers: { accept: 'application/json' },
    })
    assert.equal(response.status, 414)
    assertSecurityHeaders(response.headers, '414')
    assert.equal(
      ((await response.json()) as { error: { code: string } }).error.code,
      'ERR_HTTP_URI_TOO_LONG',
    )
  })

  it('answers headers over 16 KB with 431 and our error body', async () => {
    const raw = await sendRaw(
      rig.adapter.url,
      `GET /oidc/auth?roomname=standup HTTP/1.1\r\nHost: x\r\nCookie: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
    )
    assert.match(raw, /^HTTP\/1\.1 431 /)
    assert.match(raw, /\r\ncache-control: no-store\r\n/)
    assert.match(raw, /\r\nx-content-type-options: nosniff\r\n/)
    assert.ok(
      raw.endsWith(
        JSON.stringify({
          error: {
            code: 'ERR_HTTP_HEADERS_TOO_LARGE',
            message: errorCatalogue.ERR_HTTP_HEADERS_TOO_LARGE.message,
          },
        }),
      ),
    )
  })

  it('answers malformed HTTP with 400 and our error body', async () => {
    const raw = await sendRaw(
      rig.adapter.url,
      'GET /oidc/health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
    )
    assert.match(raw, /^HTTP\/1\.1 400 /)
    assert.ok(raw.includes('"code":"ERR_HTTP_BAD_REQUEST"'))
  })

  it('answers a body over 16 KB with 400 and does not read it', async () => {
    const raw = await sendRaw(
      rig.adapter.url,
      `POST /oidc/logout HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${20 * 1024}\r\n\r\n${'{'.repeat(20 * 1024)}`,
    )
    assert.match(raw, /^HTTP\/1\.1 (400|404) /)
    assert.match(raw, /ERR_HTTP_(BAD_REQUEST|NOT_FOUND)/)
  })
})

describe('per-client rate limiting of the login routes', () => {
  let provider: BadProvider
  before(async () => {
    provider = await startBadProvider()
  })
  after(() => provider.close())

  async function hit(
    app: InjectableApp,
    url: string,
    headers: Record<string, string> = {},
    remoteAddress = '127.0.0.1',
  ) {
    return app.app.inject({
      method: 'GET',
      url,
      headers: { accept: 'application/json', ...headers },
      remoteAddress,
    })
  }

  it('is off by default', async () => {
    const app = await buildInjectableApp(provider)
    try {
      for (let i = 0; i < 200; i++)
        assert.equal((await hit(app, '/oidc/auth?roomname=a')).statusCode, 302)
    } finally {
      await app.close()
    }
  })

  it('answers 429 with Retry-After past the limit on /oidc/auth and the callback, and not on health', async () => {
    let nowMs = Date.parse('2026-01-01T00:00:00Z')
    const timed = await buildInjectableApp(
      provider,
      { RATE_LIMIT_PER_MINUTE: '3' },
      { now: () => nowMs },
    )
    try {
      for (let i = 0; i < 3; i++)
        assert.equal((await hit(timed, '/oidc/auth?roomname=a')).statusCode, 302)
      const limited = await hit(timed, '/oidc/auth?roomname=a')
      assert.equal(limited.statusCode, 429)
      assert.equal(limited.headers['retry-after'], '60')
      assert.equal(limited.json().error.code, 'ERR_HTTP_RATE_LIMITED')
      assert.equal((await hit(timed, '/oidc/redirect?code=x&state=y')).statusCode, 429)
      assert.equal((await hit(timed, '/oidc/tokenize?code=x&state=y')).statusCode, 429)
      assert.equal((await hit(timed, '/oidc/health')).statusCode, 200)

      const page = await timed.app.inject({
        url: '/oidc/auth?roomname=a',
        remoteAddress: '127.0.0.1',
      })
      assert.equal(page.statusCode, 429)
      assert.match(page.body, /ERR_HTTP_RATE_LIMITED/)

      nowMs += 45_000
      assert.equal((await hit(timed, '/oidc/auth?roomname=a')).headers['retry-after'], '15')
      assert.equal((await hit(timed, '/oidc/auth?roomname=a', {}, '10.0.0.9')).statusCode, 302)
      nowMs += 15_000
      assert.equal((await hit(timed, '/oidc/auth?roomname=a')).statusCode, 302)
    } finally {
      await timed.close()
    }
  })

  it('keys on X-Forwarded-For only when TRUST_PROXY trusts the proxy', async () => {
    const trusting = await buildInjectableApp(provider, {
      RATE_LIMIT_PER_MINUTE: '2',
      TRUST_PROXY: 'loopback',
    })
    const distrusting = await buildInjectableApp(provider, {
      RATE_LIMIT_PER_MINUTE: '2',
      TRUST_PROXY: 'false',
    })
    try {
      const forwarded = (n: number) => ({ 'x-forwarded-for': `203.0.113.${n}` })
      for (let n = 0; n < 5; n++) {
        assert.equal((await hit(trusting, '/oidc/auth?roomname=a', forwarded(n))).statusCode, 302)
      }
      // From an untrusted peer the header is the client's own choice: one key for them all.
      const statuses = []
      for (let n = 0; n < 5; n++)
        statuses.push((await hit(distrusting, '/oidc/auth?roomname=a', forwarded(n))).statusCode)
      assert.deepEqual(statuses, [302, 302, 429, 429, 429])
      // A trusted proxy's header from an untrusted address is ignored as well.
      const spoofed = []
      for (let n = 0; n < 3; n++)
        spoofed.push(
          (await hit(trusting, '/oidc/auth?roomname=a', forwarded(100 + n), '198.51.100.7'))
            .statusCode,
        )
      assert.deepEqual(spoofed, [302, 302, 429])
    } finally {
      await trusting.close()
      await distrusting.close()
    }
  })
})

function sendRaw(baseUrl: string, request: string): Promise<string> {
  const { port } = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', () => resolve(Buffer.concat(chunks).toString()))
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()))
    socket.write(request, (error) => error && reject(error))
  })
}
