import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { startBadProvider, type BadProvider } from '../support/bad-provider.js'
import { CookieJar, get } from '../support/login-driver.js'
import { jitsiOrigin, loginAt, startBadRig } from './support.js'

async function readiness(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/oidc/ready`)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

describe('what the adapter makes of the discovery document', () => {
  let provider: BadProvider
  before(async () => {
    provider = await startBadProvider()
  })
  after(() => provider.close())

  it('refuses a discovery document naming another issuer, at start-up and on /oidc/ready', async () => {
    provider.behave({ discovery: { issuer: 'http://evil.example/realms/test' } })
    const rig = await startBadRig({}, provider)
    try {
      const ready = await readiness(rig.adapter.url)
      assert.equal(ready.status, 503)
      assert.equal(ready.body['code'], 'ERR_OIDC_ISSUER_MISMATCH')
      assert.ok(
        rig.adapter.logs.some(
          (line) =>
            line.includes('"event":"oidc.unavailable"') &&
            line.includes('ERR_OIDC_ISSUER_MISMATCH') &&
            line.includes('http://evil.example/realms/test'),
        ),
      )
      const start = await fetch(`${rig.adapter.url}/oidc/auth?roomname=standup`, {
        redirect: 'manual',
      })
      assert.equal(start.status, 503)
      assert.equal(start.headers.get('location'), null)
      assert.match(await start.text(), /Identity provider unavailable/)
    } finally {
      await rig.close()
    }
  })

  it('discovers a provider configured with a trailing slash and still checks iss exactly', async () => {
    provider.behave({})
    const rig = await startBadRig({ OIDC_ISSUER_URL: `${provider.issuer}/` }, provider)
    try {
      assert.equal((await readiness(rig.adapter.url)).status, 200)
      const login = await loginAt(rig)
      assert.equal(login.callback.status, 302, login.body)

      provider.behave({ idTokenClaims: (claims) => ({ ...claims, iss: `${provider.issuer}/` }) })
      const refused = await loginAt(rig)
      assert.equal(refused.callback.status, 400)
      assert.match(refused.body, /ERR_OIDC_ID_TOKEN_INVALID/)
    } finally {
      await rig.close()
    }
  })

  it("names the URL, the status and the path without /auth for Keycloak's old path", async () => {
    provider.behave({})
    const configured = provider.issuer.replace('/realms/', '/auth/realms/')
    const rig = await startBadRig({ OIDC_ISSUER_URL: configured }, provider)
    try {
      const ready = await readiness(rig.adapter.url)
      assert.equal(ready.status, 503)
      const line = rig.adapter.logs.find((text) => text.includes('"event":"oidc.unavailable"'))!
      assert.ok(
        line.includes(`${configured}/.well-known/openid-configuration answered HTTP 404`),
        line,
      )
      assert.ok(line.includes(`try OIDC_ISSUER_URL=${provider.issuer}`), line)
    } finally {
      await rig.close()
    }
  })

  it('calls the provider at the internal base URL while browsers and checks keep the public issuer', async () => {
    const publicIssuer = 'http://idp.invalid/realms/test'
    const internal = await startBadProvider()
    try {
      internal.behave({})
      // The provider thinks of itself under its public name, as Keycloak behind a proxy does.
      Object.assign(internal, { issuer: publicIssuer })
      const rig = await startBadRig(
        {
          OIDC_ISSUER_URL: publicIssuer,
          OIDC_INTERNAL_BASE_URL: `http://127.0.0.1:${internal.port}`,
        },
        internal,
      )
      try {
        assert.equal((await readiness(rig.adapter.url)).status, 200)
        const jar = new CookieJar()
        const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, jar)
        const authorize = start.headers.get('location')!
        assert.ok(authorize.startsWith(`${publicIssuer}/auth?`), authorize)

        // The browser reaches the public name; here that is the same server.
        const local = authorize.replace('http://idp.invalid', `http://127.0.0.1:${internal.port}`)
        const callback = await get(await internal.authorize(local), jar)
        assert.equal(callback.status, 302)
        assert.ok(callback.headers.get('location')!.startsWith(`${jitsiOrigin}/standup#jwt=`))
        assert.ok(internal.calls.some((call) => call.endpoint === 'token'))
      } finally {
        await rig.close()
      }
    } finally {
      await internal.close()
    }
  })
})
