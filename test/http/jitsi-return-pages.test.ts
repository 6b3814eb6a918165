import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { CookieJar, get, passProvider, runLogin } from '../support/login-driver.js'
import { decodeJwt, startRig, type Rig } from '../support/harness.js'

function authUrl(rig: Rig, state: Record<string, unknown>, extra = ''): string {
  return `${rig.adapter.url}/oidc/auth?state=${encodeURIComponent(JSON.stringify(state))}${extra}`
}

const unescapeHtml = (text: string) =>
  text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))

function readHrefs(page: string): string[] {
  return [...page.matchAll(/href="([^"]*)"/g)].map((match) => unescapeHtml(match[1]!))
}

function readData(page: string): Record<string, unknown> {
  const match = /<script type="application\/json" id="return-data">([\s\S]*?)<\/script>/.exec(page)
  assert.ok(match, 'no return-data block')
  return JSON.parse(match[1]!) as Record<string, unknown>
}

/** Jitsi's reading of a config hash: `key=encodeURIComponent(JSON)` pairs. */
function parseConfigHash(hash: string): Record<string, unknown> {
  return Object.fromEntries(
    hash.split('&').map((pair) => {
      const [key, value] = pair.split('=') as [string, string]
      return [key, JSON.parse(decodeURIComponent(value))]
    }),
  )
}

const appState = {
  room: 'Daily%20Standup',
  roomSafe: 'daily%20standup',
  tenant: 'acme',
  'config.prejoinConfig.enabled': false,
  'config.subject': 'Weekly',
}
const expectedConfig = { 'config.prejoinConfig.enabled': false, 'config.subject': 'Weekly' }

describe('the way back to the apps and to the popup', () => {
  let rig: Rig
  before(async () => {
    rig = await startRig()
  })
  after(() => rig.close())

  it('gives iOS a tap-to-return page whose deep link parses back to host, tenant, room, token and config', async () => {
    const login = await runLogin(authUrl(rig, { ...appState, ios: true }))
    assert.equal(login.callback.status, 200)
    assert.equal(login.callback.headers.get('cache-control'), 'no-store')
    const page = await login.callback.text()

    const [deepLink, webUrl, ...rest] = readHrefs(page)
    assert.deepEqual(rest, [])
    const link = new URL(deepLink!)
    assert.equal(link.protocol, 'org.jitsi.meet:')
    assert.equal(link.host, 'meet.example.com')
    assert.equal(link.pathname, '/acme/Daily%20Standup')
    assert.deepEqual(parseConfigHash(link.hash.slice(1)), expectedConfig)
    const { payload } = decodeJwt(link.searchParams.get('jwt')!)
    assert.equal(payload['room'], 'daily%20standup')
    assert.equal(payload['sub'], 'acme')

    assert.match(
      webUrl!,
      /^https:\/\/meet\.example\.com\/acme\/Daily%20Standup#jwt=%22[\w-]+\.[\w-]+\.[\w-]+%22&config\.prejoinConfig\.enabled=false&config\.subject=%22Weekly%22$/,
    )
    assert.deepEqual(readData(page), { auto: false, link: deepLink })
    assert.match(page, /<strong id="room-name">acme\/Daily Standup<\/strong>/)
  })

  it("gives Android Chrome's intent link first and the plain deep link second", async () => {
    const login = await runLogin(authUrl(rig, { ...appState, android: true }))
    const [intent, deepLink, webUrl] = readHrefs(await login.callback.text())

    const [intentUrl, intentTail] = intent!.split('#Intent;') as [string, string]
    assert.equal(intentTail, 'scheme=org.jitsi.meet;package=org.jitsi.meet;end')
    const parsed = new URL(intentUrl)
    assert.equal(parsed.protocol, 'intent:')
    assert.equal(parsed.host, 'meet.example.com')
    assert.equal(parsed.pathname, '/acme/Daily%20Standup')
    assert.deepEqual(parseConfigHash(parsed.hash.slice(1)), expectedConfig)
    assert.equal(parsed.searchParams.get('jwt'), new URL(deepLink!).searchParams.get('jwt'))
    assert.equal(new URL(deepLink!).protocol, 'org.jitsi.meet:')
    assert.match(webUrl!, /^https:\/\/meet\.example\.com\/acme\/Daily%20Standup#jwt=/)
  })

  it('gives the desktop app a jitsi-meet:// link and an open-in-browser fallback', async () => {
    const login = await runLogin(authUrl(rig, { ...appState, electron: true }))
    const page = await login.callback.text()
    const [deepLink, webUrl] = readHrefs(page)

    const link = new URL(deepLink!)
    assert.equal(link.protocol, 'jitsi-meet:')
    assert.equal(`${link.host}${link.pathname}`, 'meet.example.com/acme/Daily%20Standup')
    assert.ok(link.searchParams.get('jwt'))
    assert.match(webUrl!, /^https:\/\/meet\.example\.com\/acme\/Daily%20Standup#jwt=/)
    assert.match(page, /Open in the browser instead/)
    assert.match(page, /Select the button to go back to\s+the Jitsi Meet desktop app/)
    assert.doesNotMatch(page, /Tap/)
  })

  for (const [name, room, shown] of [
    [
      'markup',
      '%3Cimg%20src%3Dx%20onerror%3Dalert%3E',
      '&#60;img src&#61;x onerror&#61;alert&#62;',
    ],
    ['a script tag', '%3Cscript%3Ealert%3C', '&#60;script&#62;alert&#60;'],
    [
      'quotes and an attribute',
      '%22%20onmouseover%3D%22alert%22',
      '&#34; onmouseover&#61;&#34;alert&#34;',
    ],
  ]) {
    it(`escapes a room name carrying ${name} everywhere on the app page`, async () => {
      const login = await runLogin(authUrl(rig, { room, ios: true }))
      assert.equal(login.callback.status, 200)
      const page = await login.callback.text()

      assert.ok(page.includes(`<strong id="room-name">${shown}</strong>`), page)
      assert.equal(page.match(/<script/g)?.length, 2)
      assert.equal(page.match(/<img|<\/script>/g)?.length ?? 0, 2)
      assert.doesNotMatch(page, /onmouseover="|onerror=/)
      const data = readData(page)
      assert.equal(new URL(data['link'] as string).pathname.includes('<'), false)
    })
  }

  it('returns to the app without a tap only when JITSI_APP_AUTO_RETURN is on', async () => {
    const auto = await startRig({ env: { JITSI_APP_AUTO_RETURN: 'true' } })
    try {
      const login = await runLogin(authUrl(auto, { ...appState, ios: true }))
      assert.equal(readData(await login.callback.text())['auto'], true)
    } finally {
      await auto.close()
    }
  })

  it('posts the token to the opener on the Jitsi origin in popup mode', async () => {
    const login = await runLogin(authUrl(rig, { room: 'Weekly' }, '&nonce=n0nce'))
    assert.equal(login.callback.status, 200)
    const page = await login.callback.text()
    const data = readData(page) as {
      origin: string
      message: { type: string; accessToken: string }
      fallback: string
    }
    assert.equal(data.origin, 'https://meet.example.com')
    assert.deepEqual(Object.keys(data.message), ['type', 'accessToken'])
    assert.equal(data.message.type, 'oauth-success')
    assert.equal(decodeJwt(data.message.accessToken).payload['room'], 'weekly')
    assert.equal(
      data.fallback,
      `https://meet.example.com/Weekly#jwt=%22${data.message.accessToken}%22&config.prejoinConfig.enabled=false`,
    )
    assert.match(login.callback.headers.get('content-security-policy')!, /frame-ancestors 'none'/)
  })

  it('posts oauth-error with the code to the opener when a popup login is cancelled', async () => {
    const jar = new CookieJar()
    const start = await get(authUrl(rig, { room: 'Weekly' }, '&nonce=n0nce'), jar)
    const { callbackUrl } = await passProvider(start.headers.get('location')!, jar, undefined)
    const response = await get(callbackUrl, jar)

    assert.equal(response.status, 403)
    const page = await response.text()
    assert.deepEqual(readData(page), {
      origin: 'https://meet.example.com',
      message: { type: 'oauth-error', error: 'ERR_OIDC_ACCESS_DENIED' },
    })
    assert.match(page, /<h1>Sign-in cancelled<\/h1>/)
    assert.match(page, /ERR_OIDC_ACCESS_DENIED/)
  })
})

describe('a user who cancels at the provider', () => {
  const iosState = '{"room":"Daily%20Standup","tenant":"acme","ios":true,"config.subject":"x"}'
  const retryQuery =
    'state=%7B%22room%22%3A%22Daily%2520Standup%22%2C%22tenant%22%3A%22acme%22%2C%22ios%22%3Atrue%2C%22config.subject%22%3A%22x%22%7D'
  const iosGuestLink =
    'org.jitsi.meet://meet.example.com/acme/Daily%20Standup#config.subject=%22x%22'

  async function cancelAt(startUrl: string) {
    const jar = new CookieJar()
    const start = await get(startUrl, jar)
    const { callbackUrl } = await passProvider(start.headers.get('location')!, jar, undefined)
    return get(callbackUrl, jar)
  }

  it('in the iOS app is offered the same iOS login again and a guest link into the app', async () => {
    const rig = await startRig()
    try {
      const startUrl = `${rig.adapter.url}/oidc/auth?state=${encodeURIComponent(iosState)}`
      const response = await cancelAt(startUrl)
      assert.equal(response.status, 403)
      const [retry, guest, ...rest] = readHrefs(await response.text())
      assert.equal(retry, `${rig.adapter.url}/oidc/auth?${retryQuery}`)
      assert.equal(guest, iosGuestLink)
      assert.deepEqual(rest, [])

      const again = await cancelAt(retry!)
      assert.deepEqual(readHrefs(await again.text()), [retry, guest])
    } finally {
      await rig.close()
    }
  })

  it('in the iOS app gets the page, not a redirect to the web room, with JITSI_CANCEL_RETURNS_TO_ROOM on', async () => {
    const rig = await startRig({ env: { JITSI_CANCEL_RETURNS_TO_ROOM: 'true' } })
    try {
      const response = await cancelAt(
        `${rig.adapter.url}/oidc/auth?state=${encodeURIComponent(iosState)}`,
      )
      assert.equal(response.status, 403)
      assert.deepEqual(readHrefs(await response.text()), [
        `${rig.adapter.url}/oidc/auth?${retryQuery}`,
        iosGuestLink,
      ])
    } finally {
      await rig.close()
    }
  })

  it('in the Android app is refused by policy with a retry at another account and the app guest link', async () => {
    const rig = await startRig({ env: { ALLOWED_EMAILS: 'nobody@example.org' } })
    try {
      const state = '{"room":"Daily","android":true}'
      const login = await runLogin(
        `${rig.adapter.url}/oidc/auth?state=${encodeURIComponent(state)}`,
      )
      assert.equal(login.callback.status, 403)
      const page = await login.callback.text()
      assert.match(page, /ERR_POLICY_DENIED/)
      assert.deepEqual(readHrefs(page), [
        `${rig.adapter.url}/oidc/auth?state=%7B%22room%22%3A%22Daily%22%2C%22android%22%3Atrue%7D&prompt=login`,
        'org.jitsi.meet://meet.example.com/Daily',
      ])
    } finally {
      await rig.close()
    }
  })

  it('goes back to the room as a guest when JITSI_CANCEL_RETURNS_TO_ROOM is on', async () => {
    const rig = await startRig({ env: { JITSI_CANCEL_RETURNS_TO_ROOM: 'true' } })
    try {
      const jar = new CookieJar()
      const start = await get(`${rig.adapter.url}/oidc/auth?roomname=Team/Daily`, jar)
      const { callbackUrl } = await passProvider(start.headers.get('location')!, jar, undefined)
      const response = await get(callbackUrl, jar)
      assert.equal(response.status, 302)
      assert.equal(response.headers.get('location'), 'https://meet.example.com/Team/Daily')
    } finally {
      await rig.close()
    }
  })
})
