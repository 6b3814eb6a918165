import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import type { Behaviour } from '../support/bad-provider.js'
import { capturedLogLines } from '../support/harness.js'
import {
  collectSecrets,
  findLeaks,
  loginAt,
  startBadRig,
  withClockAhead,
  type BadLogin,
  type BadRig,
} from './support.js'

/** Every way a callback can fail, each provoked once with LOG_LEVEL=debug. */
const failingBehaviours: Array<[name: string, behaviour: Behaviour]> = [
  ['alg none', { signWith: 'none' }],
  ['bad signature', { tamperSignature: true }],
  ['unknown key', { signWith: 'foreign' }],
  ['wrong iss', { idTokenClaims: (claims) => ({ ...claims, iss: 'http://evil.example' }) }],
  ['wrong aud', { idTokenClaims: (claims) => ({ ...claims, aud: 'other' }) }],
  ['expired', { idTokenClaims: (claims) => ({ ...claims, exp: 1 }) }],
  ['iat ahead', { idTokenClaims: (claims) => ({ ...claims, iat: 4_000_000_000 }) }],
  ['wrong nonce', { idTokenClaims: (claims) => ({ ...claims, nonce: 'attacker-nonce-value' }) }],
  [
    'bad at_hash',
    { idTokenClaims: (claims) => ({ ...claims, at_hash: 'AAAAAAAAAAAAAAAAAAAAAA' }) },
  ],
  ['userinfo sub', { userinfo: (claims) => ({ ...claims, sub: 'mallory' }) }],
  ['no id_token', { tokenResponse: ({ id_token: _idToken, ...rest }) => rest }],
  ['token 500', { faults: { token: { kind: 'status', status: 500 } } }],
  [
    'token invalid_grant',
    { faults: { token: { kind: 'status', status: 400, body: '{"error":"invalid_grant"}' } } },
  ],
  [
    'token invalid_client',
    { faults: { token: { kind: 'status', status: 401, body: '{"error":"invalid_client"}' } } },
  ],
  ['token html', { faults: { token: { kind: 'html' } } }],
  ['token truncated', { faults: { token: { kind: 'truncated' } } }],
  ['token hangs', { faults: { token: { kind: 'hang' } } }],
  ['userinfo 500', { faults: { userinfo: { kind: 'status', status: 500 } } }],
  [
    'access denied',
    {
      callbackParams: (params) => {
        params.delete('code')
        params.set('error', 'access_denied')
      },
    },
  ],
  [
    'other provider error',
    {
      callbackParams: (params) => {
        params.delete('code')
        params.set('error', 'server_error')
      },
    },
  ],
  ['bad callback iss', { callbackParams: (params) => params.set('iss', 'http://evil.example') }],
]

describe('no credential reaches a log line or an error page (K50)', () => {
  let rig: BadRig
  const pages: string[] = []
  const seen: string[] = []

  before(async () => {
    rig = await startBadRig({ OIDC_USERINFO: 'always', RATE_LIMIT_PER_MINUTE: '1000' })
  })
  after(() => rig.close())

  function keep(login: BadLogin, isError: boolean): void {
    const state = new URL(login.authorizationUrl).searchParams
    seen.push(state.get('state')!, state.get('nonce')!, state.get('code_challenge')!)
    for (const cookie of login.start.headers.getSetCookie())
      seen.push(cookie.split(';')[0]!.split('=')[1]!)
    if (isError)
      pages.push(
        login.body,
        String(login.location),
        login.callback.headers.getSetCookie().join('\n'),
      )
  }

  it('runs successful logins on every return path with LOG_LEVEL=debug', async () => {
    for (const query of [
      'roomname=standup',
      `state=${encodeURIComponent('{"room":"standup","ios":true}')}`,
      `state=${encodeURIComponent('{"room":"standup","refreshToken":"jitsi-refresh-token-0123456789"}')}&nonce=popup`,
    ]) {
      const login = await loginAt(rig, { query })
      assert.ok([200, 302].includes(login.callback.status))
      const minted = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/.exec(
        `${login.location ?? ''} ${login.body}`,
      )![0]
      seen.push(minted, minted.split('.')[2]!, 'jitsi-refresh-token-0123456789')
      keep(login, false)
    }
  })

  for (const [name, behaviour] of failingBehaviours) {
    it(`provokes the ${name} failure for JSON and HTML clients`, async () => {
      for (const accept of ['text/html', 'application/json']) {
        rig.provider.behave(behaviour)
        const login = await loginAt(rig, { accept })
        assert.ok(login.callback.status >= 400, `${name}: ${login.callback.status}`)
        keep(login, true)
      }
    })
  }

  it('provokes the callback and request errors: replay, state, cookies, limits, 404', async () => {
    rig.provider.behave({})
    const login = await loginAt(rig)
    keep(login, false)
    for (const accept of ['text/html', 'application/json']) {
      const replay = await fetch(login.callbackUrl, { headers: { accept } })
      pages.push(await replay.text())
      const withCookie = await fetch(login.callbackUrl, {
        headers: { accept, cookie: login.start.headers.getSetCookie()[0]!.split(';')[0]! },
      })
      pages.push(await withCookie.text())
      const forged = new URL(login.callbackUrl)
      forged.searchParams.set('state', 'x'.repeat(40))
      pages.push(await (await fetch(forged, { headers: { accept } })).text())
      pages.push(
        await (
          await fetch(`${rig.adapter.url}/oidc/auth?roomname=${'a'.repeat(9000)}`, {
            headers: { accept },
          })
        ).text(),
      )
      pages.push(
        await (
          await fetch(`${rig.adapter.url}/oidc/nowhere?code=${login.callbackUrl}`, {
            headers: { accept },
          })
        ).text(),
      )
    }
    await withClockAhead(120, async () => {
      await rig.provider.rotate()
      rig.provider.behave({
        signWith: 'rotated',
        faults: { jwks: { kind: 'status', status: 500 } },
      })
      const failed = await loginAt(rig)
      keep(failed, true)
    })
  })

  it('finds none of them in any log line or error answer', () => {
    const secrets = collectSecrets(rig.provider, seen)
    assert.ok(secrets.length > 100, `only ${secrets.length} secrets collected`)
    assert.ok(capturedLogLines.length > 200, `only ${capturedLogLines.length} log lines`)
    assert.ok(
      capturedLogLines.some((line) => line.includes('"level":20')),
      'no debug lines were logged',
    )
    // The scan itself finds what it looks for: a planted code is reported.
    assert.equal(findLeaks([`code=${rig.provider.issued.codes[0]}`], secrets).length, 1)
    assert.deepEqual(findLeaks(capturedLogLines, secrets), [])
    assert.deepEqual(findLeaks(pages, secrets), [])
  })
})
