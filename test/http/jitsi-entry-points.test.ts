import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { decodeJwt, startRig, tokenFromUrl, type Rig } from '../support/harness.js'
import { runLogin } from '../support/login-driver.js'

/** Expands a tokenAuthUrl the way Jitsi does: each placeholder at its first occurrence. */
function expand(template: string, values: Record<string, string>): string {
  let url = template
  for (const [name, value] of Object.entries(values)) url = url.replace(`{${name}}`, value)
  return url
}

describe('every way Jitsi and older adapters enter /oidc/auth', () => {
  let rig: Rig
  before(async () => {
    rig = await startRig()
  })
  after(() => rig.close())

  async function loginAt(url: string) {
    const login = await runLogin(url)
    assert.equal(login.callback.status, 302, await login.callback.clone().text())
    const { payload } = decodeJwt(tokenFromUrl(login.finalUrl!))
    return { url: login.finalUrl!, room: payload['room'], sub: payload['sub'] }
  }

  it('reads tokenAuthUrl with {room} only, the room still percent-encoded as in the address bar', async () => {
    const url = expand(`${rig.adapter.url}/oidc/auth?room={room}`, { room: 'Caf%C3%A9' })
    const result = await loginAt(url)
    assert.match(result.url, /^https:\/\/meet\.example\.com\/Caf%C3%A9#jwt=%22/)
    assert.equal(result.room, 'caf%c3%a9')
  })

  it('refuses, before the provider, a room that decodes to the wildcard (K21)', async () => {
    const entries = [
      `room=%2A`,
      `room=%EF%BC%8A`,
      `roomname=%2a`,
      `state=${encodeURIComponent(JSON.stringify({ room: '%2A', tenant: 'Team' }))}`,
      `state=${encodeURIComponent(JSON.stringify({ room: '\uFF0A' }))}`,
    ]
    for (const query of entries) {
      const response = await fetch(`${rig.adapter.url}/oidc/auth?${query}`, {
        redirect: 'manual',
        headers: { accept: 'application/json' },
      })
      assert.equal(response.status, 400, query)
      assert.equal(response.headers.get('location'), null)
      assert.equal(
        ((await response.json()) as { error: { code: string } }).error.code,
        'ERR_JITSI_ROOM_INVALID',
      )
    }
  })

  it('ignores the literal {code_challenge} the mobile apps leave in tokenAuthUrl', async () => {
    const state = { room: 'Daily', roomSafe: 'daily', ios: true }
    const url = expand(
      `${rig.adapter.url}/oidc/auth?state={state}&code_challenge={code_challenge}`,
      {
        state: encodeURIComponent(JSON.stringify(state)),
      },
    )
    assert.match(url, /&code_challenge=\{code_challenge\}$/)
    const login = await runLogin(url)
    assert.equal(login.callback.status, 200)
    assert.match(
      await login.callback.text(),
      /org\.jitsi\.meet:\/\/meet\.example\.com\/Daily\?jwt=/,
    )
  })

  it("ignores the web app's own code_challenge, which belongs to Jitsi's session", async () => {
    const state = { room: 'Daily', roomSafe: 'daily' }
    const url = expand(
      `${rig.adapter.url}/oidc/auth?state={state}&code_challenge={code_challenge}`,
      {
        state: encodeURIComponent(JSON.stringify(state)),
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      },
    )
    assert.equal((await loginAt(url)).room, 'daily')
  })

  for (const [entry, query, path, sub] of [
    ["the Python adapter's roomname=", 'roomname=standup', '/standup', 'meet.example.com'],
    ['roomname= with a tenant path', 'roomname=team/Daily', '/team/Daily', 'team'],
    ['roomname= with a mixed-case tenant', 'roomname=Team/Daily', '/Team/Daily', 'team'],
    ['room= with tenant=', 'room=Daily&tenant=Team', '/Team/Daily', 'team'],
    [
      'a state with a mixed-case tenant',
      `state=${encodeURIComponent('{"room":"Daily","roomSafe":"daily","tenant":"Team"}')}`,
      '/Team/Daily',
      'team',
    ],
  ]) {
    it(`returns ${entry} to ${path} with sub "${sub}"`, async () => {
      const result = await loginAt(`${rig.adapter.url}/oidc/auth?${query}`)
      assert.match(result.url, new RegExp(`^https://meet\\.example\\.com${path}#jwt=%22`))
      assert.equal(
        result.room,
        'daily' === path.split('/').pop()!.toLowerCase() ? 'daily' : 'standup',
      )
      assert.equal(result.sub, sub)
    })
  }
})
