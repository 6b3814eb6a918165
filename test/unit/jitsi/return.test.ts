import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isAppError } from '../../../src/errors.js'
import { parseLoginRequest, type LoginRequest } from '../../../src/jitsi/login-request.js'
import {
  assertSameOrigin,
  buildGuestLink,
  buildReturnTarget,
  buildRoomUrl,
  type ReturnTarget,
} from '../../../src/jitsi/return.js'
import { buildBackendSafeRoomName } from '../../../src/jitsi/room.js'

const BASE = new URL('https://meet.example.com')
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb29tIjoiZGFpbHkifQ.c2lnbmF0dXJl'

function request(overrides: Partial<LoginRequest> = {}): LoginRequest {
  return {
    room: 'Daily',
    roomSafe: 'daily',
    client: 'web',
    overrides: [['config.prejoinConfig.enabled', 'false']],
    popup: false,
    ...overrides,
  }
}

function build(
  loginRequest: LoginRequest,
  options: Partial<{ base: URL; delivery: 'hash' | 'query'; skip: boolean; legacy: boolean }> = {},
): ReturnTarget {
  return buildReturnTarget({
    jitsiBaseUrl: options.base ?? BASE,
    request: loginRequest,
    token: JWT,
    delivery: options.delivery ?? 'hash',
    skipPrejoin: options.skip ?? true,
    legacyPrejoinFlag: options.legacy ?? false,
  })
}

// Reads a hash the way Jitsi does: split on & and =, keys as they are, values JSON-parsed.
function parseJitsiHash(hash: string): Array<[string, unknown]> {
  return hash
    .replace(/^#/, '')
    .split('&')
    .map((pair) => {
      const [key, value] = pair.split('=') as [string, string]
      return [key, JSON.parse(decodeURIComponent(value))]
    })
}

describe('buildReturnTarget for the web app', () => {
  it('returns a tenant room to /Team/Daily with the token quoted in the hash', () => {
    const target = build(request({ tenant: 'Team' }))

    assert.deepEqual(target, {
      kind: 'redirect',
      url: `https://meet.example.com/Team/Daily#jwt=%22${JWT}%22&config.prejoinConfig.enabled=false`,
      webUrl: `https://meet.example.com/Team/Daily#jwt=%22${JWT}%22&config.prejoinConfig.enabled=false`,
    })
  })

  it('puts the raw token in the query when delivery is "query"', () => {
    const target = build(request({ overrides: [] }), { delivery: 'query', skip: false })

    assert.equal(target.url, `https://meet.example.com/Daily?jwt=${JWT}`)
  })

  it('keeps a base path prefix and joins it with exactly one slash', () => {
    const expected = `https://meet.example.com/jitsi/Daily#jwt=%22${JWT}%22&config.prejoinConfig.enabled=false`

    assert.equal(
      build(request(), { base: new URL('https://meet.example.com/jitsi') }).url,
      expected,
    )
    assert.equal(
      build(request(), { base: new URL('https://meet.example.com/jitsi/') }).url,
      expected,
    )
    assert.equal(
      build(request(), { base: new URL('https://meet.example.com/jitsi//') }).url,
      expected,
    )
  })

  it('keeps a non-default port', () => {
    const target = build(request(), { base: new URL('https://meet.example.com:8443/') })

    assert.equal(
      target.url,
      `https://meet.example.com:8443/Daily#jwt=%22${JWT}%22&config.prejoinConfig.enabled=false`,
    )
  })

  it('carries overrides in order with keys unchanged and values encoded', () => {
    const target = build(
      request({
        overrides: [
          ['config.startWithAudioMuted', 'true'],
          ['config.subject', '"Weekly & more"'],
          ['config.toolbarButtons', '["microphone","camera"]'],
        ],
      }),
      { skip: false },
    )

    assert.equal(
      target.url,
      `https://meet.example.com/Daily#jwt=%22${JWT}%22&config.startWithAudioMuted=true&config.subject=%22Weekly%20%26%20more%22&config.toolbarButtons=%5B%22microphone%22%2C%22camera%22%5D`,
    )
    assert.deepEqual(parseJitsiHash(new URL(target.url).hash), [
      ['jwt', JWT],
      ['config.startWithAudioMuted', true],
      ['config.subject', 'Weekly & more'],
      ['config.toolbarButtons', ['microphone', 'camera']],
    ])
  })

  it('switches prejoin off in place when the state carried it on and skipPrejoin is set', () => {
    const target = build(
      request({
        overrides: [
          ['config.prejoinConfig.enabled', 'true'],
          ['config.startAudioOnly', 'true'],
        ],
      }),
    )

    assert.equal(
      target.url,
      `https://meet.example.com/Daily#jwt=%22${JWT}%22&config.prejoinConfig.enabled=false&config.startAudioOnly=true`,
    )
  })

  it('leaves a carried prejoin value alone when skipPrejoin is off', () => {
    const target = build(request({ overrides: [['config.prejoinConfig.enabled', 'true']] }), {
      skip: false,
    })

    assert.equal(
      target.url,
      `https://meet.example.com/Daily#jwt=%22${JWT}%22&config.prejoinConfig.enabled=true`,
    )
  })

  it('appends the prejoin switch and the legacy flag when the state carried neither', () => {
    const target = build(request({ overrides: [] }), { legacy: true })

    assert.equal(
      target.url,
      `https://meet.example.com/Daily#jwt=%22${JWT}%22&config.prejoinConfig.enabled=false&config.prejoinPageEnabled=false`,
    )
  })

  it('returns the Swedish room Räksmörgås UTF-8 encoded, matching the claim', () => {
    const loginRequest = parseLoginRequest({ state: '{"room":"Räksmörgås"}' })

    const target = build(loginRequest, { skip: false })

    const segment = new URL(target.url).pathname.slice(1)
    assert.equal(segment, 'R%C3%A4ksm%C3%B6rg%C3%A5s')
    assert.equal(buildBackendSafeRoomName(segment), 'r%c3%a4ksm%c3%b6rg%c3%a5s')
    assert.equal(loginRequest.roomSafe, 'r%c3%a4ksm%c3%b6rg%c3%a5s')
  })

  it('keeps the app own percent-escapes in the path', () => {
    const target = build(request({ room: 'Caf%C3%A9', roomSafe: 'caf%c3%a9', overrides: [] }), {
      skip: false,
    })

    assert.equal(target.url, `https://meet.example.com/Caf%C3%A9#jwt=%22${JWT}%22`)
  })

  it('sends every "%" of a room that does not decode as literal text, matching the claim', () => {
    for (const [room, path] of [
      ['%E0%A4%A', '%25E0%25A4%25A'],
      ['a%zz%C3%A9', 'a%25zz%25C3%25A9'],
      ['100%', '100%25'],
    ]) {
      const loginRequest = parseLoginRequest({ state: JSON.stringify({ room }) })
      const segment = new URL(build(loginRequest, { skip: false }).url).pathname.slice(1)
      assert.equal(segment, path)
      assert.equal(buildBackendSafeRoomName(segment), loginRequest.roomSafe, room)
    }
  })

  it('returns a popup page with the tokened room URL as fallback', () => {
    const target = build(request({ popup: true, overrides: [] }), { skip: false })

    assert.deepEqual(target, {
      kind: 'popup-page',
      url: `https://meet.example.com/Daily#jwt=%22${JWT}%22`,
      webUrl: `https://meet.example.com/Daily#jwt=%22${JWT}%22`,
    })
  })

  it('refuses a token that is not a compact JWT', () => {
    for (const token of ['', 'a.b', 'a.b.c#x', 'a.b.c"', 'a.b.c/../x', `${JWT}\r\n`]) {
      assert.throws(
        () =>
          buildReturnTarget({
            jitsiBaseUrl: BASE,
            request: request(),
            token,
            delivery: 'hash',
            skipPrejoin: true,
            legacyPrejoinFlag: false,
          }),
        { code: 'ERR_JITSI_TOKEN_INVALID' },
      )
    }
  })
})

describe('buildReturnTarget for the apps', () => {
  const acme = { room: 'Daily%20Standup', roomSafe: 'daily%20standup', tenant: 'acme' }

  it('gives iOS a deep link that parses back to host, tenant, room, token and config', () => {
    const target = build(request({ ...acme, client: 'ios' }))

    const deepLink = `org.jitsi.meet://meet.example.com/acme/Daily%20Standup?jwt=${JWT}#config.prejoinConfig.enabled=false`
    assert.deepEqual(target, {
      kind: 'app-page',
      url: deepLink,
      webUrl: `https://meet.example.com/acme/Daily%20Standup#jwt=%22${JWT}%22&config.prejoinConfig.enabled=false`,
      deepLink,
    })
    const parsed = new URL(deepLink)
    assert.equal(parsed.protocol, 'org.jitsi.meet:')
    assert.equal(parsed.host, 'meet.example.com')
    assert.deepEqual(parsed.pathname.split('/'), ['', 'acme', 'Daily%20Standup'])
    assert.equal(parsed.searchParams.get('jwt'), JWT)
    assert.deepEqual(parseJitsiHash(parsed.hash), [['config.prejoinConfig.enabled', false]])
  })

  it('gives Android a deep link and an intent link that keep the token and config', () => {
    const target = build(
      request({ ...acme, client: 'android', overrides: [['config.startAudioOnly', 'true']] }),
      { base: new URL('https://meet.example.com/jitsi/') },
    )

    assert.equal(target.kind, 'app-page')
    assert.equal(
      target.deepLink,
      `org.jitsi.meet://meet.example.com/jitsi/acme/Daily%20Standup?jwt=${JWT}#config.startAudioOnly=true&config.prejoinConfig.enabled=false`,
    )
    assert.equal(
      target.intentLink,
      `intent://meet.example.com/jitsi/acme/Daily%20Standup?jwt=${JWT}#config.startAudioOnly=true&config.prejoinConfig.enabled=false#Intent;scheme=org.jitsi.meet;package=org.jitsi.meet;end`,
    )
    const [data, intent] = target.intentLink!.split('#Intent;') as [string, string]
    assert.equal(intent, 'scheme=org.jitsi.meet;package=org.jitsi.meet;end')
    const parsed = new URL(data)
    assert.equal(parsed.host, 'meet.example.com')
    assert.equal(parsed.pathname, '/jitsi/acme/Daily%20Standup')
    assert.equal(parsed.searchParams.get('jwt'), JWT)
    assert.deepEqual(parseJitsiHash(parsed.hash), [
      ['config.startAudioOnly', true],
      ['config.prejoinConfig.enabled', false],
    ])
  })

  it('gives an intent link without config when nothing is carried', () => {
    const target = build(request({ client: 'android', overrides: [] }), { skip: false })

    assert.equal(
      target.intentLink,
      `intent://meet.example.com/Daily?jwt=${JWT}#Intent;scheme=org.jitsi.meet;package=org.jitsi.meet;end`,
    )
  })

  it('gives Electron a jitsi-meet link with an open-in-browser fallback', () => {
    const target = build(request({ ...acme, client: 'electron' }))

    assert.deepEqual(target, {
      kind: 'app-page',
      url: `jitsi-meet://meet.example.com/acme/Daily%20Standup?jwt=${JWT}#config.prejoinConfig.enabled=false`,
      webUrl: `https://meet.example.com/acme/Daily%20Standup#jwt=%22${JWT}%22&config.prejoinConfig.enabled=false`,
      deepLink: `jitsi-meet://meet.example.com/acme/Daily%20Standup?jwt=${JWT}#config.prejoinConfig.enabled=false`,
    })
  })

  it('gives an app page, not a popup page, to an app that sent a nonce', () => {
    assert.equal(build(request({ client: 'ios', popup: true })).kind, 'app-page')
  })
})

describe('buildRoomUrl', () => {
  it('builds the guest link to /Team/Daily without a token', () => {
    assert.equal(
      buildRoomUrl(BASE, { room: 'Daily', tenant: 'Team' }),
      'https://meet.example.com/Team/Daily',
    )
  })

  it('encodes path breakers in a room that skipped validation', () => {
    assert.equal(
      buildRoomUrl(new URL('https://meet.example.com/jitsi'), { room: '//evil.example/?#' }),
      'https://meet.example.com/jitsi/%2F%2Fevil.example%2F%3F%23',
    )
  })
})

describe('buildGuestLink', () => {
  const carried: LoginRequest['overrides'] = [
    ['config.subject', '"Weekly"'],
    ['config.startWithAudioMuted', 'true'],
  ]

  it('opens the iOS app on the room without a token, carrying the config overrides', () => {
    assert.equal(
      buildGuestLink(BASE, request({ room: 'Daily%20Standup', client: 'ios', overrides: carried })),
      'org.jitsi.meet://meet.example.com/Daily%20Standup#config.subject=%22Weekly%22&config.startWithAudioMuted=true',
    )
  })

  it('opens the Android app with the same org.jitsi.meet deep link', () => {
    assert.equal(
      buildGuestLink(BASE, request({ client: 'android', overrides: [] })),
      'org.jitsi.meet://meet.example.com/Daily',
    )
  })

  it('opens the desktop app with a jitsi-meet link', () => {
    assert.equal(
      buildGuestLink(BASE, request({ client: 'electron', overrides: [] })),
      'jitsi-meet://meet.example.com/Daily',
    )
  })

  it('puts the tenant and a base path in the app link', () => {
    assert.equal(
      buildGuestLink(
        new URL('https://meet.example.com:8443/jitsi/'),
        request({ tenant: 'acme', client: 'ios', overrides: [] }),
      ),
      'org.jitsi.meet://meet.example.com:8443/jitsi/acme/Daily',
    )
  })

  it('gives the web the room URL without a token or overrides, as before', () => {
    assert.equal(
      buildGuestLink(BASE, request({ tenant: 'acme', overrides: carried })),
      'https://meet.example.com/acme/Daily',
    )
  })

  it('escapes a hostile room so the app link keeps the Jitsi host and room path', () => {
    assert.equal(
      buildGuestLink(BASE, request({ room: '//evil.example/?#@x', client: 'ios', overrides: [] })),
      'org.jitsi.meet://meet.example.com/%2F%2Fevil.example%2F%3F%23%40x',
    )
  })
})

describe('assertSameOrigin', () => {
  const base = new URL('https://meet.example.com/jitsi/')

  it('accepts a URL under the Jitsi path', () => {
    assertSameOrigin('https://meet.example.com/jitsi/Daily#jwt=%22x%22', base)
  })

  const refused = [
    'https://evil.example/jitsi/Daily',
    'https://meet.example.com.evil.example/jitsi/Daily',
    'https://meet.example.com@evil.example/jitsi/Daily',
    'http://meet.example.com/jitsi/Daily',
    'https://meet.example.com:444/jitsi/Daily',
    'https://meet.example.com/other/Daily',
    'https://meet.example.com/jitsiX/Daily',
    'https://meet.example.com/jitsi/../admin',
    'https://meet.example.com/jitsi/%2e%2e/admin',
    '//evil.example/jitsi/Daily',
    '/jitsi/Daily',
    'javascript:alert(1)',
  ]
  for (const url of refused) {
    it(`refuses ${url}`, () => {
      assert.throws(() => assertSameOrigin(url, base), { code: 'ERR_JITSI_ROOM_INVALID' })
    })
  }

  it('refuses a base URL without a web origin as a configuration fault', () => {
    assert.throws(() => assertSameOrigin('data:text/html,x', new URL('data:text/html,x')), {
      code: 'ERR_CONFIG_INVALID',
    })
  })
})

describe('open-redirect corpus: hostile rooms and tenants never leave JITSI_BASE_URL', () => {
  const hostileRooms = [
    '//evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '\\/evil.example',
    '///evil.example',
    '////evil.example',
    'https://evil.example',
    'http://evil.example/',
    'https:evil.example',
    '//evil.example/%2F..',
    'evil.example@',
    '@evil.example',
    'user:pass@evil.example',
    'evil.example:443',
    '..',
    '.',
    '../..',
    '../evil',
    '%2F%2Fevil.example',
    '%2f..%2fevil',
    '%5Cevil.example',
    '%5C%5Cevil.example',
    '%2e%2e',
    '%2E%2E%2Fadmin',
    '.%2e',
    '%252F%252Fevil.example',
    'room%0d%0aLocation:%20https://evil.example',
    'room\r\nLocation: https://evil.example',
    'room\nx',
    '\tevil.example',
    '/%09/evil.example',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'mailto:x@evil.example',
    'room#@evil.example',
    'room?next=//evil.example',
    '#',
    '?',
    '%',
    '%%2F',
    'evil.example%00',
    '／／evil.example',
    '＼evil.example',
    '⁄⁄evil.example',
    'evil。example',
    '*',
    '*.evil.example',
    '[::1]',
    '"><script>alert(1)</script>',
    "'onmouseover=alert(1)",
  ]
  const hostileTenants = [
    '//evil.example',
    'evil.example@',
    'evil.example',
    'https://evil.example',
    '..',
    '%2F',
    '%2e%2e',
    '\\evil',
    'team\r\n',
    '*',
  ]
  const bases = [new URL('https://meet.example.com/'), new URL('https://meet.example.com/jitsi/')]

  function assertStaysHome(query: Record<string, unknown>): void {
    let loginRequest: LoginRequest
    try {
      loginRequest = parseLoginRequest(query)
    } catch (error) {
      assert.ok(isAppError(error) && error.status === 400, `unexpected error ${String(error)}`)
      return
    }

    for (const base of bases) {
      for (const client of ['web', 'ios', 'android', 'electron'] as const) {
        const target = build({ ...loginRequest, client }, { base, legacy: true })
        const web = new URL(target.webUrl)
        assert.equal(web.origin, base.origin)
        assert.ok(web.pathname.startsWith(base.pathname), web.pathname)
        assert.equal(
          web.pathname.split('/').length,
          base.pathname.split('/').length + (loginRequest.tenant ? 1 : 0),
        )
        assert.doesNotMatch(target.webUrl, /[\s<>"'\\]/)
        for (const link of [target.deepLink, target.intentLink?.split('#Intent;')[0]]) {
          if (link === undefined) continue
          assert.equal(new URL(link).host, base.host)
          assert.ok(new URL(link).pathname.startsWith(base.pathname))
        }
      }
    }
  }

  for (const room of hostileRooms) {
    it(`keeps the room ${JSON.stringify(room)} on the Jitsi origin in every input form`, () => {
      assertStaysHome({ roomname: room })
      assertStaysHome({ room })
      assertStaysHome({ room, tenant: 'Team' })
      assertStaysHome({ state: JSON.stringify({ room }) })
      assertStaysHome({ state: JSON.stringify({ room, tenant: 'Team' }) })
    })
  }

  for (const tenant of hostileTenants) {
    it(`keeps the tenant ${JSON.stringify(tenant)} on the Jitsi origin in every input form`, () => {
      assertStaysHome({ roomname: `${tenant}/Daily` })
      assertStaysHome({ room: 'Daily', tenant })
      assertStaysHome({ state: JSON.stringify({ room: 'Daily', tenant }) })
    })
  }

  it('refuses the classic open-redirect rooms outright rather than encoding them', () => {
    for (const room of ['//evil.example', '/\\evil.example', 'https://evil.example', '..', '%2F']) {
      assert.throws(() => parseLoginRequest({ state: JSON.stringify({ room }) }), {
        code: 'ERR_JITSI_ROOM_INVALID',
      })
    }
    assert.throws(() => parseLoginRequest({ state: '{"room":"Daily","tenant":"evil.example@"}' }), {
      code: 'ERR_JITSI_TENANT_INVALID',
    })
  })
})
