import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { decodeJwt, jitsiBaseUrl, startRig, type Rig } from '../support/harness.js'
import { CookieJar, get, runLogin } from '../support/login-driver.js'

function readLogoutCookie(response: Response): string | undefined {
  return response.headers.getSetCookie().find((line) => line.startsWith('oidc_logout='))
}

describe('logout at the provider (tokenLogoutUrl)', () => {
  let rig: Rig
  before(async () => {
    rig = await startRig()
  })
  after(() => rig.close())

  it('keeps the ID token sealed in an HttpOnly cookie on /oidc/ that lives as long as the Jitsi token', async () => {
    const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`)
    const cookie = readLogoutCookie(login.callback)!
    assert.match(
      cookie,
      /^oidc_logout=[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+; Max-Age=10800; Path=\/oidc\/; HttpOnly; SameSite=Lax$/,
    )
    assert.ok(!rig.adapter.logs.some((line) => line.includes(cookie.split(/[=;]/)[1]!)))
  })

  it('ends the provider session with id_token_hint, client_id and a way back to Jitsi', async () => {
    const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`)
    const response = await get(`${rig.adapter.url}/oidc/logout`, login.jar)

    assert.equal(response.status, 302)
    const target = new URL(response.headers.get('location')!)
    assert.equal(`${target.origin}${target.pathname}`, `${rig.idp.issuer}/session/end`)
    assert.deepEqual(
      [...target.searchParams.keys()],
      ['id_token_hint', 'client_id', 'post_logout_redirect_uri'],
    )
    assert.equal(target.searchParams.get('client_id'), 'jitsi-test')
    assert.equal(target.searchParams.get('post_logout_redirect_uri'), `${jitsiBaseUrl}/`)
    const hint = decodeJwt(target.searchParams.get('id_token_hint')!).payload
    assert.equal(hint['iss'], rig.idp.issuer)
    assert.equal(hint['aud'], 'jitsi-test')
    assert.equal(hint['sub'], 'ana')
    assert.match(
      readLogoutCookie(response)!,
      /^oidc_logout=; Max-Age=0; Path=\/oidc\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax$/,
    )
    assert.deepEqual(login.jar.names(rig.adapter.url), [])

    // The provider accepts the request: it asks to confirm, then returns to Jitsi.
    const confirm = await get(target.href, login.jar)
    assert.equal(confirm.status, 200)
    const page = await confirm.text()
    const action = /<form[^>]*action="([^"]+)"/.exec(page)![1]!
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)![1]!
    const done = await fetch(new URL(action, target).href, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: login.jar.header(target.href),
      },
      body: new URLSearchParams({ xsrf, logout: 'yes' }),
    })
    assert.equal(done.status, 303)
    assert.equal(done.headers.get('location'), `${jitsiBaseUrl}/`)
  })

  it('logs out with client_id only when there is no logout cookie', async () => {
    const response = await get(`${rig.adapter.url}/oidc/logout`, new CookieJar())
    const target = new URL(response.headers.get('location')!)
    assert.equal(target.searchParams.get('id_token_hint'), null)
    assert.equal(target.searchParams.get('client_id'), 'jitsi-test')
  })

  it('does not take a sealed login transaction for a logout hint', async () => {
    const jar = new CookieJar()
    const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, jar)
    const transaction = start.headers.getSetCookie()[0]!.split(';')[0]!.split('=')[1]!
    const response = await fetch(`${rig.adapter.url}/oidc/logout`, {
      redirect: 'manual',
      headers: { cookie: `oidc_logout=${transaction}` },
    })
    assert.equal(new URL(response.headers.get('location')!).searchParams.get('id_token_hint'), null)
  })

  for (const [how, path, headers] of [
    ['?iframe=1', '/oidc/logout?iframe=1', {}],
    ['Sec-Fetch-Dest: iframe', '/oidc/logout', { 'sec-fetch-dest': 'iframe' }],
  ] as const) {
    it(`answers popup mode's hidden iframe (${how}) with a page that posts logout-success to the Jitsi origin`, async () => {
      const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`)
      const response = await get(`${rig.adapter.url}${path}`, login.jar, headers)

      assert.equal(response.status, 200)
      assert.equal(response.headers.get('x-frame-options'), 'SAMEORIGIN')
      assert.match(
        response.headers.get('content-security-policy')!,
        /; frame-ancestors https:\/\/meet\.example\.com$/,
      )
      assert.equal(response.headers.get('cache-control'), 'no-store')
      const page = await response.text()
      assert.ok(
        page.includes('{"origin":"https://meet.example.com","message":{"type":"logout-success"}}'),
      )
      assert.match(readLogoutCookie(response)!, /^oidc_logout=; Max-Age=0/)
    })
  }

  it('keeps every other page unframeable', async () => {
    const response = await fetch(`${rig.adapter.url}/oidc/auth`)
    assert.equal(response.headers.get('x-frame-options'), 'DENY')
    assert.match(response.headers.get('content-security-policy')!, /frame-ancestors 'none'/)
  })
})

describe('logout at a provider without end_session_endpoint', () => {
  it('clears the cookie and goes straight back to Jitsi', async () => {
    const rig = await startRig({
      idpConfiguration: {
        features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: false } },
      },
    })
    try {
      const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`)
      const response = await get(`${rig.adapter.url}/oidc/logout`, login.jar)
      assert.equal(response.status, 302)
      assert.equal(response.headers.get('location'), `${jitsiBaseUrl}/`)
      assert.match(readLogoutCookie(response)!, /^oidc_logout=; Max-Age=0/)
    } finally {
      await rig.close()
    }
  })
})
