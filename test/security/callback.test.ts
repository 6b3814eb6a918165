import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, beforeEach, describe, it } from 'node:test'

import { buildTransactionCookieName, sealTransaction } from '../../src/transaction.js'
import { CookieJar, get } from '../support/login-driver.js'
import {
  errorCodeOf,
  jitsiOrigin,
  loginAt,
  startBadRig,
  type BadLogin,
  type BadRig,
} from './support.js'

function assertRefused(
  login: { status: number; body: string; location: string | null },
  code: string,
) {
  assert.equal(login.status, 400, login.body)
  assert.equal(errorCodeOf(login.body), code)
  assert.equal(login.location, null)
  assert.doesNotMatch(login.body, /jwt=/)
}

async function fetchCallback(url: string, cookie?: string) {
  const response = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} })
  return {
    status: response.status,
    body: await response.text(),
    location: response.headers.get('location'),
  }
}

function summary(login: BadLogin) {
  return { status: login.callback.status, body: login.body, location: login.location }
}

/** Starts a login and takes the provider leg, without calling the adapter back yet. */
async function startAndAuthorize(rig: BadRig, jar = new CookieJar()) {
  const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, jar)
  const authorizationUrl = start.headers.get('location')!
  const callbackUrl = await rig.provider.authorize(authorizationUrl)
  const state = new URL(authorizationUrl).searchParams.get('state')!
  return { jar, callbackUrl, state, cookie: jar.header(rig.adapter.url) }
}

describe('callbacks that do not belong to the browser', () => {
  let rig: BadRig
  before(async () => {
    rig = await startBadRig()
  })
  after(() => rig.close())
  beforeEach(() => rig.provider.behave({}))

  it('refuses a callback whose state does not match the transaction', async () => {
    const login = await loginAt(rig, { tamper: (url) => url.searchParams.set('state', 'attacker') })
    assertRefused(summary(login), 'ERR_OIDC_STATE_MISMATCH')
  })

  it('refuses a callback without a state', async () => {
    const login = await loginAt(rig, { tamper: (url) => url.searchParams.delete('state') })
    assertRefused(summary(login), 'ERR_OIDC_STATE_MISMATCH')
  })

  it('refuses a callback that arrives without the transaction cookie', async () => {
    const { callbackUrl } = await startAndAuthorize(rig)
    assertRefused(await fetchCallback(callbackUrl), 'ERR_TX_MISSING')
  })

  it("refuses a callback carrying another login's cookie", async () => {
    const victim = await startAndAuthorize(rig)
    const attacker = await startAndAuthorize(rig)
    assertRefused(
      await fetchCallback(attacker.callbackUrl, victim.cookie),
      'ERR_OIDC_STATE_MISMATCH',
    )
  })

  it('refuses a forged transaction cookie', async () => {
    const { callbackUrl, state } = await startAndAuthorize(rig)
    const name = buildTransactionCookieName(state, Date.now())
    const forgedKey = new Uint8Array(randomBytes(32))
    const sealed = await sealTransaction(buildTransaction(state), forgedKey, now())
    assertRefused(await fetchCallback(callbackUrl, `${name}=${sealed}`), 'ERR_TX_INVALID')
    assertRefused(await fetchCallback(callbackUrl, `${name}=not-a-jwe`), 'ERR_TX_INVALID')
  })

  it('refuses an expired transaction cookie sealed with the right key', async () => {
    const { callbackUrl, state } = await startAndAuthorize(rig)
    const name = buildTransactionCookieName(state, Date.now())
    const sealed = await sealTransaction(
      buildTransaction(state),
      rig.adapter.config.server.cookieKey,
      now() - 700,
    )
    assertRefused(await fetchCallback(callbackUrl, `${name}=${sealed}`), 'ERR_TX_MISSING')
  })

  it('mints nothing when a successful callback is replayed, with or without the old cookie', async () => {
    const { jar, callbackUrl, cookie } = await startAndAuthorize(rig)
    const first = await get(callbackUrl, jar)
    assert.equal(first.status, 302)
    assert.ok(first.headers.get('location')!.startsWith(`${jitsiOrigin}/standup#jwt=`))

    assertRefused(await fetchCallback(callbackUrl, jar.header(rig.adapter.url)), 'ERR_TX_MISSING')
    assertRefused(await fetchCallback(callbackUrl, cookie), 'ERR_OIDC_CODE_REJECTED')
  })

  it('ignores session_state and other extra callback parameters', async () => {
    const login = await loginAt(rig, {
      tamper: (url) => {
        url.searchParams.set('session_state', 'abc.def')
        url.searchParams.set('foo', 'bar')
      },
    })
    assert.equal(login.callback.status, 302, login.body)
  })

  it('refuses a callback iss naming another issuer even when the provider does not advertise RFC 9207', async () => {
    const login = await loginAt(rig, {
      tamper: (url) => url.searchParams.set('iss', 'http://evil.example'),
    })
    assertRefused(summary(login), 'ERR_OIDC_CALLBACK_INVALID')
  })

  it('refuses a token response without an ID token, naming the openid scope', async () => {
    rig.provider.behave({ tokenResponse: ({ id_token: _idToken, ...rest }) => rest })
    const login = await loginAt(rig)
    assertRefused(summary(login), 'ERR_OIDC_ID_TOKEN_MISSING')
    const line = rig.adapter.logs.findLast((text) => text.includes('ERR_OIDC_ID_TOKEN_MISSING'))
    assert.match(line!, /request the \\"openid\\" scope/)
  })

  it('requests exactly the default scopes and sends no prompt', async () => {
    const login = await loginAt(rig)
    const query = new URL(login.authorizationUrl).searchParams
    assert.equal(query.get('scope'), 'openid profile email')
    assert.equal(query.get('prompt'), null)
    assert.equal(query.get('code_challenge_method'), 'S256')
  })
})

describe('providers that advertise RFC 9207 issuer identification', () => {
  let rig: BadRig
  before(async () => {
    rig = await startBadRig()
    await rig.adapter.close()
    rig.provider.behave({ discovery: { authorization_response_iss_parameter_supported: true } })
    rig = await startBadRig({}, rig.provider)
  })
  after(async () => {
    await rig.close()
    await rig.provider.close()
  })

  it('accepts the callback when iss is the provider', async () => {
    const login = await loginAt(rig, {
      tamper: (url) => url.searchParams.set('iss', rig.provider.issuer),
    })
    assert.equal(login.callback.status, 302, login.body)
  })

  it('refuses a callback whose iss names another issuer', async () => {
    const login = await loginAt(rig, {
      tamper: (url) => url.searchParams.set('iss', 'http://evil.example/realms/test'),
    })
    assertRefused(summary(login), 'ERR_OIDC_CALLBACK_INVALID')
  })

  it('refuses a callback without iss', async () => {
    assertRefused(summary(await loginAt(rig)), 'ERR_OIDC_CALLBACK_INVALID')
  })
})

describe('prompt and scopes as configured', () => {
  it('sends the configured prompt and exactly the configured scopes, and warns about an unlisted one', async () => {
    const rig = await startBadRig({ OIDC_PROMPT: 'login', OIDC_SCOPES: 'openid email groups' })
    try {
      const login = await loginAt(rig)
      const query = new URL(login.authorizationUrl).searchParams
      assert.equal(query.get('prompt'), 'login')
      assert.equal(query.get('scope'), 'openid email groups')
      assert.ok(
        rig.adapter.logs.some(
          (line) => line.includes('"event":"oidc.scopes_unlisted"') && line.includes('["groups"]'),
        ),
      )
    } finally {
      await rig.close()
    }
  })

  it('falls back from a silent login to one interactive login, then succeeds', async () => {
    const rig = await startBadRig({ OIDC_SILENT_LOGIN: 'true' })
    try {
      rig.provider.behave({ noSession: true })
      const jar = new CookieJar()
      const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, jar)
      assert.equal(new URL(start.headers.get('location')!).searchParams.get('prompt'), 'none')

      const silentAnswer = await rig.provider.authorize(start.headers.get('location')!)
      assert.match(silentAnswer, /error=login_required/)
      const fallback = await get(silentAnswer, jar)
      assert.equal(fallback.status, 302)
      const interactive = new URL(fallback.headers.get('location')!)
      assert.ok(interactive.href.startsWith(`${rig.provider.issuer}/auth?`))
      assert.equal(interactive.searchParams.get('prompt'), null)

      const done = await get(await rig.provider.authorize(interactive.href), jar)
      assert.equal(done.status, 302)
      assert.ok(done.headers.get('location')!.startsWith(`${jitsiOrigin}/standup#jwt=`))
    } finally {
      await rig.close()
    }
  })

  it('does not loop when the interactive attempt also answers login_required', async () => {
    const rig = await startBadRig({ OIDC_SILENT_LOGIN: 'true' })
    try {
      rig.provider.behave({
        noSession: true,
        callbackParams: (params) => {
          params.delete('code')
          params.set('error', 'login_required')
        },
      })
      const jar = new CookieJar()
      const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, jar)
      const fallback = await get(await rig.provider.authorize(start.headers.get('location')!), jar)
      assert.equal(fallback.status, 302)

      const second = await get(await rig.provider.authorize(fallback.headers.get('location')!), jar)
      assert.equal(second.status, 400)
      assert.equal(second.headers.get('location'), null)
      assert.equal(errorCodeOf(await second.text()), 'ERR_OIDC_LOGIN_REQUIRED')
      assert.equal(rig.provider.count('auth'), 2)
    } finally {
      await rig.close()
    }
  })
})

function now(): number {
  return Math.floor(Date.now() / 1000)
}

function buildTransaction(state: string) {
  return {
    state,
    nonce: 'n',
    codeVerifier: 'v',
    request: {
      room: 'standup',
      roomSafe: 'standup',
      client: 'web' as const,
      overrides: [],
      popup: false,
    },
  }
}
