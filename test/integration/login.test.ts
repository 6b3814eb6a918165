import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { jwtVerify } from 'jose'

import { CookieJar, get, passProvider, runLogin } from '../support/login-driver.js'
import {
  decodeJwt,
  startAdapter,
  startRig,
  testAppSecret,
  tokenFromUrl,
  type Rig,
} from '../support/harness.js'

const secret = new TextEncoder().encode(testAppSecret)

describe('login against a real OpenID provider', () => {
  let rig: Rig
  before(async () => {
    rig = await startRig()
  })
  after(() => rig.close())

  it('lands a host in the room with a token Prosody accepts', async () => {
    const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`)

    assert.equal(login.callback.status, 302)
    assert.match(
      login.finalUrl!,
      /^https:\/\/meet\.example\.com\/standup#jwt=%22[\w-]+\.[\w-]+\.[\w-]+%22&config\.prejoinConfig\.enabled=false$/,
    )
    const token = tokenFromUrl(login.finalUrl!)
    const { header, payload } = decodeJwt(token)
    assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' })
    const { payload: verified } = await jwtVerify(token, secret, {
      issuer: 'jitsi_app',
      audience: 'jitsi',
      algorithms: ['HS256'],
    })
    assert.equal(verified.sub, 'meet.example.com')
    assert.equal(verified.room, 'standup')
    assert.equal((payload['exp'] as number) - (payload['iat'] as number), 10800)
    assert.equal((payload['iat'] as number) - (payload['nbf'] as number), 60)
    assert.deepEqual(payload['context'], {
      user: {
        id: 'ana',
        name: 'Ana Host',
        email: 'ana@example.org',
        avatar: 'https://avatars.example.org/ana.png',
        affiliation: 'owner',
        moderator: true,
      },
    })
  })

  it('sends the transaction cookie scoped to /oidc/, HttpOnly and SameSite=Lax, and clears it at the callback', async () => {
    const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`)
    const setCookie = login.start.headers.getSetCookie().join('\n')
    assert.match(setCookie, /^oidc_tx_[0-9a-z]{9}_[\w-]{16}=/)
    assert.match(setCookie, /Path=\/oidc\//)
    assert.match(setCookie, /HttpOnly/)
    assert.match(setCookie, /SameSite=Lax/)
    assert.match(setCookie, /Max-Age=600/)
    assert.match(
      login.callback.headers.getSetCookie().join('\n'),
      /oidc_tx_[0-9a-z]{9}_[\w-]{16}=;.*Expires=Thu, 01 Jan 1970/,
    )
    assert.deepEqual(
      login.jar.names(rig.adapter.url).filter((name) => name.startsWith('oidc_tx_')),
      [],
    )
  })

  it('keeps a jitsi-contrib registration working with ADAPTER_CALLBACK_PATH=/oidc/tokenize', async () => {
    const contrib = await startRig({ env: { ADAPTER_CALLBACK_PATH: '/oidc/tokenize' } })
    try {
      const login = await runLogin(`${contrib.adapter.url}/oidc/auth?roomname=standup`)
      assert.match(login.callbackUrl, /\/oidc\/tokenize\?/)
      assert.match(login.finalUrl!, /^https:\/\/meet\.example\.com\/standup#jwt=/)
    } finally {
      await contrib.close()
    }
  })

  it('returns a tenant room to /Team/Daily with sub "team"', async () => {
    const state = JSON.stringify({
      room: 'Daily',
      roomSafe: 'daily',
      tenant: 'Team',
      'config.prejoinConfig.enabled': false,
    })
    const login = await runLogin(`${rig.adapter.url}/oidc/auth?state=${encodeURIComponent(state)}`)
    assert.match(login.finalUrl!, /^https:\/\/meet\.example\.com\/Team\/Daily#jwt=/)
    const { payload } = decodeJwt(tokenFromUrl(login.finalUrl!))
    assert.equal(payload['sub'], 'team')
    assert.equal(payload['room'], 'daily')
  })

  it('gives a non-ASCII room the backend-safe claim Prosody compares', async () => {
    const state = JSON.stringify({
      room: 'R%C3%A4ksm%C3%B6rg%C3%A5s',
      roomSafe: 'r%c3%a4ksm%c3%b6rg%c3%a5s',
    })
    const login = await runLogin(`${rig.adapter.url}/oidc/auth?state=${encodeURIComponent(state)}`)
    assert.match(login.finalUrl!, /^https:\/\/meet\.example\.com\/R%C3%A4ksm%C3%B6rg%C3%A5s#jwt=/)
    assert.equal(
      decodeJwt(tokenFromUrl(login.finalUrl!)).payload['room'],
      'r%c3%a4ksm%c3%b6rg%c3%a5s',
    )
  })

  it('completes two logins started in two tabs of one browser', async () => {
    const jar = new CookieJar()
    const first = await get(`${rig.adapter.url}/oidc/auth?roomname=first`, jar)
    const second = await get(`${rig.adapter.url}/oidc/auth?roomname=second`, jar)
    assert.equal(jar.names(rig.adapter.url).length, 2)

    const secondLeg = await passProvider(second.headers.get('location')!, jar, 'ana')
    const firstLeg = await passProvider(first.headers.get('location')!, jar, 'ana')
    const secondDone = await get(secondLeg.callbackUrl, jar)
    const firstDone = await get(firstLeg.callbackUrl, jar)
    assert.equal(firstDone.status, 302, await firstDone.clone().text())
    assert.match(firstDone.headers.get('location')!, /^https:\/\/meet\.example\.com\/first#jwt=/)
    assert.match(secondDone.headers.get('location')!, /^https:\/\/meet\.example\.com\/second#jwt=/)
  })

  it('mints nothing when the callback is replayed, and offers a fresh login', async () => {
    const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`)
    assert.equal(login.callback.status, 302)

    const reload = await get(login.callbackUrl, login.jar)
    assert.equal(reload.status, 400)
    const page = await reload.text()
    assert.match(page, /ERR_TX_MISSING/)
    assert.doesNotMatch(page, /jwt=/)
    assert.match(page, /href="https:\/\/meet\.example\.com\/"/)
  })

  it('refuses the replayed callback even when the old cookie is sent again', async () => {
    const jar = new CookieJar()
    const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, jar)
    const saved = jar.clone()
    const { callbackUrl } = await passProvider(start.headers.get('location')!, jar, 'ana')
    assert.equal((await get(callbackUrl, jar.clone())).status, 302)

    const replay = await get(callbackUrl, saved)
    assert.equal(replay.status, 400)
    assert.match(await replay.text(), /ERR_OIDC_CODE_REJECTED/)
    // The admin's log names the endpoint that refused: the token endpoint, not "callback".
    assert.ok(
      rig.adapter.logs.some((line) =>
        /"event":"auth\.(failure|error)".*token endpoint answered 400 invalid_grant/.test(line),
      ),
      'no log line naming the token endpoint',
    )
  })

  it('refuses a callback whose state does not match the browser transaction', async () => {
    const jar = new CookieJar()
    const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, jar)
    const { callbackUrl } = await passProvider(start.headers.get('location')!, jar, 'ana')
    const forged = new URL(callbackUrl)
    forged.searchParams.set('state', 'attacker-state')

    const response = await get(forged.href, jar, { accept: 'application/json' })
    assert.equal(response.status, 400)
    const body = (await response.json()) as { error: { code: string; requestId: string } }
    assert.equal(body.error.code, 'ERR_OIDC_STATE_MISMATCH')
    assert.equal(response.headers.get('location'), null)
  })

  it('refuses a callback that carries neither a code nor an error', async () => {
    const jar = new CookieJar()
    const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, jar)
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!

    const response = await get(`${rig.adapter.url}/oidc/redirect?state=${state}`, jar, {
      accept: 'application/json',
    })
    assert.equal(response.status, 400)
    assert.equal(
      ((await response.json()) as { error: { code: string } }).error.code,
      'ERR_OIDC_CALLBACK_INVALID',
    )
  })

  /** A started login's state, and a callback URL on the adapter with `query` after it. */
  async function callbackFor(query: (state: string) => string) {
    const jar = new CookieJar()
    const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, jar)
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!
    const response = await get(`${rig.adapter.url}/oidc/redirect?${query(state)}`, jar, {
      accept: 'application/json',
    })
    const body = (await response.json()) as { error: { code: string } }
    return {
      status: response.status,
      code: body.error.code,
      location: response.headers.get('location'),
    }
  }

  it('refuses a callback that repeats code, state, iss or error, or has an empty code', async () => {
    const issuer = encodeURIComponent(rig.idp.issuer)
    for (const query of [
      (state: string) => `code=a&code=b&state=${state}`,
      (state: string) => `code=a&state=${state}&state=${state}`,
      (state: string) => `code=a&state=${state}&iss=${issuer}&iss=${issuer}`,
      (state: string) => `error=access_denied&error=server_error&state=${state}`,
      (state: string) => `code=&state=${state}&iss=${issuer}`,
    ]) {
      const answer = await callbackFor(query)
      assert.deepEqual(answer, { status: 400, code: 'ERR_OIDC_CALLBACK_INVALID', location: null })
    }
  })

  it('refuses an error callback that names another issuer, even a cancel (RFC 9207)', async () => {
    const answer = await callbackFor(
      (state) =>
        `error=access_denied&state=${state}&iss=${encodeURIComponent('http://evil.example')}`,
    )
    assert.deepEqual(answer, { status: 400, code: 'ERR_OIDC_CALLBACK_INVALID', location: null })
  })

  it('answers 503 when the provider reports its own failure on the callback', async () => {
    // The provider announces RFC 9207, so its callbacks, errors included, carry `iss`.
    const iss = encodeURIComponent(rig.idp.issuer)
    for (const error of ['server_error', 'temporarily_unavailable']) {
      const answer = await callbackFor((state) => `error=${error}&state=${state}&iss=${iss}`)
      assert.deepEqual(
        answer,
        { status: 503, code: 'ERR_OIDC_PROVIDER_UNAVAILABLE', location: null },
        error,
      )
    }
    const refused = await callbackFor((state) => `error=invalid_scope&state=${state}&iss=${iss}`)
    assert.deepEqual(refused, { status: 400, code: 'ERR_OIDC_PROVIDER_ERROR', location: null })
  })

  it('shows a friendly page with a way back when the user cancels at the provider', async () => {
    const jar = new CookieJar()
    const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, jar)
    const { callbackUrl } = await passProvider(start.headers.get('location')!, jar, undefined)
    assert.match(callbackUrl, /error=access_denied/)

    const response = await get(callbackUrl, jar)
    assert.equal(response.status, 403)
    const page = await response.text()
    assert.match(page, /Sign-in cancelled/)
    assert.match(page, /ERR_OIDC_ACCESS_DENIED/)
    assert.match(page, /href="https:\/\/meet\.example\.com\/standup"/)
    assert.ok(
      rig.adapter.logs.some(
        (line) => line.includes('"code":"ERR_OIDC_ACCESS_DENIED"') && line.includes('"level":30'),
      ),
    )
  })

  it('logs the host in again without a prompt after a reload while the provider session lives', async () => {
    const first = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`)
    const again = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, first.jar)
    const { callbackUrl } = await passProvider(again.headers.get('location')!, first.jar, 'ana', {
      expectNoPrompt: true,
    })
    const callback = await get(callbackUrl, first.jar)
    assert.match(callback.headers.get('location')!, /^https:\/\/meet\.example\.com\/standup#jwt=/)
  })

  it('keeps popup mode in the retry link after a cancel in the popup', async () => {
    const jar = new CookieJar()
    const state = JSON.stringify({ room: 'Standup', roomSafe: 'standup' })
    const start = await get(
      `${rig.adapter.url}/oidc/auth?state=${encodeURIComponent(state)}&nonce=abc`,
      jar,
    )
    const { callbackUrl } = await passProvider(start.headers.get('location')!, jar, undefined)

    const page = await (await get(callbackUrl, jar)).text()
    const href = /href="([^"]*\/oidc\/auth\?[^"]*)"/.exec(page)![1]!
    const retry = href.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    const params = new URL(retry).searchParams
    assert.equal(params.get('nonce'), 'retry')
    assert.equal(JSON.parse(params.get('state')!).room, 'Standup')
  })

  it('answers /oidc/health and /oidc/ready once the provider is known', async () => {
    assert.equal((await fetch(`${rig.adapter.url}/oidc/health`)).status, 200)
    const ready = await fetch(`${rig.adapter.url}/oidc/ready`)
    assert.equal(ready.status, 200)
    assert.deepEqual(await ready.json(), { status: 'ready', provider: 'ready' })
  })
})

describe('a user the access rules refuse', () => {
  it('gets a 403 that offers another account, and the log says whom and why', async () => {
    const rig = await startRig({
      env: { ALLOWED_GROUPS: 'moderators', OIDC_SCOPES: 'openid profile email groups' },
    })
    try {
      const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`, {
        login: 'eve',
      })
      assert.equal(login.callback.status, 403)
      const page = await login.callback.text()
      assert.match(page, /ERR_POLICY_DENIED/)
      assert.match(page, /Sign in with another account/)
      const href = /href="([^"]*\/oidc\/auth\?[^"]*)"/.exec(page)![1]!
      const retry = href.replace(/&#(\d+);/g, (_, code: string) =>
        String.fromCharCode(Number(code)),
      )
      assert.equal(new URL(retry).searchParams.get('prompt'), 'login')

      const again = await get(retry, login.jar)
      assert.equal(new URL(again.headers.get('location')!).searchParams.get('prompt'), 'login')

      const refusal = rig.adapter.logs
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line['code'] === 'ERR_POLICY_DENIED')!
      assert.equal(refusal['event'], 'auth.failure')
      assert.equal(refusal['sub'], 'eve')
      assert.equal(refusal['iss'], rig.idp.issuer)
      assert.match(refusal['reason'] as string, /no access rule matched/)
    } finally {
      await rig.close()
    }
  })
})

describe('login with other client setups', () => {
  it('logs in a public client with PKCE only, sending client_id in the body and no secret', async () => {
    const rig = await startRig({
      client: { token_endpoint_auth_method: 'none', client_secret: undefined },
      env: { OIDC_CLIENT_SECRET: undefined },
    })
    try {
      const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`)
      assert.match(login.finalUrl!, /^https:\/\/meet\.example\.com\/standup#jwt=/)
      assert.ok(rig.adapter.logs.some((line) => line.includes('"method":"none"')))
    } finally {
      await rig.close()
    }
  })

  it('uses client_secret_post when the provider accepts only that', async () => {
    const rig = await startRig({
      client: { token_endpoint_auth_method: 'client_secret_post' },
      idpConfiguration: { clientAuthMethods: ['client_secret_post', 'none'] },
    })
    try {
      const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`)
      assert.match(login.finalUrl!, /#jwt=/)
      assert.ok(rig.adapter.logs.some((line) => line.includes('"method":"client_secret_post"')))
    } finally {
      await rig.close()
    }
  })

  it('falls back to userinfo when the ID token carries no name or email', async () => {
    const rig = await startRig({ claimsInIdToken: false })
    try {
      const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`)
      const { payload } = decodeJwt(tokenFromUrl(login.finalUrl!))
      assert.deepEqual((payload['context'] as { user: unknown }).user, {
        id: 'ana',
        name: 'Ana Host',
        email: 'ana@example.org',
        avatar: 'https://avatars.example.org/ana.png',
        affiliation: 'owner',
        moderator: true,
      })
    } finally {
      await rig.close()
    }
  })

  it('uses preferred_username as the display name and invents no email', async () => {
    const rig = await startRig()
    try {
      const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`, {
        login: 'user1',
      })
      const { payload } = decodeJwt(tokenFromUrl(login.finalUrl!))
      assert.deepEqual((payload['context'] as { user: unknown }).user, {
        id: 'user1',
        name: 'user1',
        affiliation: 'owner',
        moderator: true,
      })
    } finally {
      await rig.close()
    }
  })

  it('works with static endpoints when the provider has no discovery', async () => {
    const probe = await startRig()
    const issuer = probe.idp.issuer
    await probe.adapter.close()
    const adapter = await startAdapter({
      OIDC_ISSUER_URL: issuer,
      OIDC_AUTHORIZATION_ENDPOINT: `${issuer}/auth`,
      OIDC_TOKEN_ENDPOINT: `${issuer}/token`,
      OIDC_JWKS_URI: `${issuer}/jwks`,
      OIDC_USERINFO_ENDPOINT: `${issuer}/me`,
      ADAPTER_PUBLIC_URL: probe.adapter.config.jitsi.adapterPublicUrl.origin,
      PORT: String(probe.adapter.config.server.port),
    })
    try {
      const login = await runLogin(`${adapter.url}/oidc/auth?roomname=standup`)
      assert.match(login.finalUrl!, /^https:\/\/meet\.example\.com\/standup#jwt=/)
      assert.ok(!adapter.logs.some((line) => line.includes('openid-configuration')))
    } finally {
      await adapter.close()
      await probe.idp.close()
    }
  })

  it("lets two adapter instances complete each other's logins", async () => {
    const rig = await startRig()
    const second = await startAdapter({
      OIDC_ISSUER_URL: rig.idp.issuer,
      ADAPTER_PUBLIC_URL: rig.adapter.config.jitsi.adapterPublicUrl.origin,
      PORT: '0',
    })
    try {
      const jar = new CookieJar()
      const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, jar)
      const { callbackUrl } = await passProvider(start.headers.get('location')!, jar, 'ana')
      const onSecond = callbackUrl.replace(rig.adapter.url, second.url)
      const adapterCookies = jar.header(rig.adapter.url)
      const response = await fetch(onSecond, {
        redirect: 'manual',
        headers: { cookie: adapterCookies },
      })
      assert.equal(response.status, 302)
      assert.match(response.headers.get('location')!, /^https:\/\/meet\.example\.com\/standup#jwt=/)
    } finally {
      await second.close()
      await rig.close()
    }
  })
})
