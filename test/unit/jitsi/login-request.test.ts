import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  buildStateJson,
  parseLoginRequest,
  type LoginRequest,
} from '../../../src/jitsi/login-request.js'

function parseState(state: unknown, extra: Record<string, unknown> = {}): LoginRequest {
  return parseLoginRequest({ state: JSON.stringify(state), ...extra })
}

describe('parseLoginRequest with the state JSON of tokenAuthUrl', () => {
  it('reads the web example with its overrides in order', () => {
    const request = parseLoginRequest({
      state:
        '{"room":"MyRoom","roomSafe":"myroom","config.startWithAudioMuted":true,"config.prejoinConfig.enabled":false}',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    })

    assert.deepEqual(request, {
      room: 'MyRoom',
      roomSafe: 'myroom',
      client: 'web',
      overrides: [
        ['config.startWithAudioMuted', 'true'],
        ['config.prejoinConfig.enabled', 'false'],
      ],
      popup: false,
    })
  })

  it('reads a tenant, an encoded unicode room and a subject in the hash', () => {
    const request = parseLoginRequest({
      state:
        '{"room":"Caf%C3%A9","roomSafe":"caf%c3%a9","tenant":"acme","config.prejoinConfig.enabled":false,"config.subject":"Weekly"}',
    })

    assert.deepEqual(request, {
      room: 'Caf%C3%A9',
      roomSafe: 'caf%c3%a9',
      tenant: 'acme',
      client: 'web',
      overrides: [
        ['config.prejoinConfig.enabled', 'false'],
        ['config.subject', '"Weekly"'],
      ],
      popup: false,
    })
  })

  it('marks an iOS state with the literal {code_challenge} as an ios client', () => {
    const request = parseLoginRequest({
      state:
        '{"room":"Daily%20Standup","roomSafe":"daily%20standup","tenant":"acme","config.prejoinConfig.enabled":false,"ios":true}',
      code_challenge: '{code_challenge}',
    })

    assert.deepEqual(request, {
      room: 'Daily%20Standup',
      roomSafe: 'daily%20standup',
      tenant: 'acme',
      client: 'ios',
      overrides: [['config.prejoinConfig.enabled', 'false']],
      popup: false,
    })
  })

  it('marks an Android state with a raw unicode room as an android client', () => {
    const request = parseLoginRequest({
      state:
        '{"room":"Straße","roomSafe":"stra%c3%9fe","config.startAudioOnly":true,"config.prejoinConfig.enabled":false,"android":true}',
    })

    assert.deepEqual(request, {
      room: 'Straße',
      roomSafe: 'stra%c3%9fe',
      client: 'android',
      overrides: [
        ['config.startAudioOnly', 'true'],
        ['config.prejoinConfig.enabled', 'false'],
      ],
      popup: false,
    })
  })

  it('marks an Electron state as an electron client', () => {
    assert.equal(parseState({ room: 'MyRoom', electron: true }).client, 'electron')
  })

  it('computes roomSafe when the state has none', () => {
    assert.equal(parseState({ room: 'Räksmörgås' }).roomSafe, 'r%c3%a4ksm%c3%b6rg%c3%a5s')
  })

  it('refuses a roomSafe that does not match its room', () => {
    assert.throws(() => parseState({ room: 'MyRoom', roomSafe: 'otherroom' }), {
      code: 'ERR_JITSI_STATE_INVALID',
    })
  })

  it('refuses a roomSafe in display form', () => {
    assert.throws(() => parseState({ room: 'Café', roomSafe: 'Café' }), {
      code: 'ERR_JITSI_STATE_INVALID',
    })
  })

  it('ignores the refresh token entirely', () => {
    const request = parseState({ refreshToken: 'rt-secret', room: 'MyRoom', roomSafe: 'myroom' })

    assert.equal(JSON.stringify(request).includes('rt-secret'), false)
    assert.deepEqual(Object.keys(request).sort(), [
      'client',
      'overrides',
      'popup',
      'room',
      'roomSafe',
    ])
  })

  it('lets rights-like keys change nothing', () => {
    const request = parseState(
      {
        room: 'MyRoom',
        affiliation: 'owner',
        moderator: true,
        exp: 9999999999,
        sub: '*',
        context: { user: { moderator: true } },
        features: { recording: true },
      },
      { affiliation: 'owner', moderator: 'true', exp: '9999999999', sub: '*' },
    )

    assert.deepEqual(request, parseState({ room: 'MyRoom' }))
  })

  it('ignores a platform flag given in the query rather than the state', () => {
    assert.equal(parseState({ room: 'MyRoom' }, { ios: 'true' }).client, 'web')
  })

  it('ignores platform flags that are not exactly true', () => {
    assert.equal(parseState({ room: 'MyRoom', ios: 'true', android: 1 }).client, 'web')
  })

  it('refuses a state naming two platforms', () => {
    assert.throws(() => parseState({ room: 'MyRoom', ios: true, android: true }), {
      code: 'ERR_JITSI_STATE_INVALID',
    })
  })

  it('ignores unknown keys from future Jitsi releases', () => {
    const request = parseState({ room: 'MyRoom', flavour: 'next', 'future.thing': 1 })

    assert.deepEqual(request.overrides, [])
  })

  it('sets popup when Jitsi appended a nonce', () => {
    assert.equal(parseState({ room: 'MyRoom' }, { nonce: 'n-123' }).popup, true)
    assert.equal(parseState({ room: 'MyRoom' }, { nonce: '' }).popup, false)
  })

  it('prefers the state over roomname and room', () => {
    const request = parseState({ room: 'FromState' }, { roomname: 'FromPage', room: 'FromRoom' })

    assert.equal(request.room, 'FromState')
  })

  it('ignores a query tenant when the state is used', () => {
    assert.equal(parseState({ room: 'MyRoom' }, { tenant: 'other' }).tenant, undefined)
  })

  it('treats an empty state tenant as no tenant', () => {
    assert.equal(parseState({ room: 'MyRoom', tenant: '' }).tenant, undefined)
  })

  it('refuses the wildcard room and tenant from the request', () => {
    assert.throws(() => parseState({ room: '*', tenant: '*' }), { code: 'ERR_JITSI_ROOM_INVALID' })
    assert.throws(() => parseState({ room: 'MyRoom', tenant: '*' }), {
      code: 'ERR_JITSI_TENANT_INVALID',
    })
  })

  it('names the expected backend-safe name when the roomSafe of the state does not match', () => {
    assert.throws(
      () => parseState({ room: 'Caf%C3%A9', roomSafe: 'cafe' }),
      (error: unknown) => {
        assert.equal((error as { code: string }).code, 'ERR_JITSI_STATE_INVALID')
        assert.match((error as Error).message, /backend-safe name is "caf%c3%a9"/)
        return true
      },
    )
  })

  it('refuses every room that becomes the wildcard or a path once decoded (K21)', () => {
    // Prosody sees the decoded, NFKC-normalized name: each of these would have minted a token
    // for every room, or a room named with a slash.
    const rooms = [
      '%2A',
      '%2a',
      '\uFF0A',
      '\uFE61',
      '%EF%BC%8A',
      'a%2Ab',
      'board\uFF0A',
      '\uFF0Fevil',
      '%EF%BC%8Fevil',
      '\uFF3Cevil',
      '\uFF0E\uFF0E',
    ]
    for (const room of rooms) {
      assert.throws(() => parseState({ room }), { code: 'ERR_JITSI_ROOM_INVALID' }, room)
      assert.throws(() => parseState({ room, tenant: 'Team' }), { code: 'ERR_JITSI_ROOM_INVALID' })
    }
  })

  const badStates: Array<[description: string, state: string, code: string]> = [
    ['not JSON', '{room:MyRoom}', 'ERR_JITSI_STATE_INVALID'],
    ['empty', '', 'ERR_JITSI_STATE_INVALID'],
    ['a JSON array', '["MyRoom"]', 'ERR_JITSI_STATE_INVALID'],
    ['a JSON string', '"MyRoom"', 'ERR_JITSI_STATE_INVALID'],
    ['JSON null', 'null', 'ERR_JITSI_STATE_INVALID'],
    [
      'over 8 KB',
      JSON.stringify({ room: 'MyRoom', pad: 'x'.repeat(8200) }),
      'ERR_JITSI_STATE_INVALID',
    ],
    ['without a room', '{"roomSafe":"myroom"}', 'ERR_JITSI_ROOM_MISSING'],
    ['with a numeric room', '{"room":42}', 'ERR_JITSI_STATE_INVALID'],
    ['with an empty room', '{"room":""}', 'ERR_JITSI_ROOM_MISSING'],
    ['with a null tenant', '{"room":"MyRoom","tenant":null}', 'ERR_JITSI_STATE_INVALID'],
    ['with a dotted tenant', '{"room":"MyRoom","tenant":"a.b"}', 'ERR_JITSI_TENANT_INVALID'],
    ['with a room holding a slash', '{"room":"a/b"}', 'ERR_JITSI_ROOM_INVALID'],
  ]
  for (const [description, state, code] of badStates) {
    it(`refuses a state that is ${description} with ${code}`, () => {
      assert.throws(() => parseLoginRequest({ state }), { code })
    })
  }

  it('refuses a repeated state parameter', () => {
    assert.throws(() => parseLoginRequest({ state: ['{"room":"a"}', '{"room":"b"}'] }), {
      code: 'ERR_JITSI_STATE_INVALID',
    })
  })
})

describe('parseLoginRequest overrides', () => {
  it('carries JSON values back as JSON text', () => {
    const request = parseState({
      room: 'MyRoom',
      'config.startWithVideoMuted': true,
      'config.channelLastN': 5,
      'config.toolbarButtons': ['microphone', 'camera'],
      'interfaceConfig.SHOW_JITSI_WATERMARK': false,
      'config.subject': null,
      'config.p2p': { enabled: false },
    })

    assert.deepEqual(request.overrides, [
      ['config.startWithVideoMuted', 'true'],
      ['config.channelLastN', '5'],
      ['config.toolbarButtons', '["microphone","camera"]'],
      ['interfaceConfig.SHOW_JITSI_WATERMARK', 'false'],
      ['config.subject', 'null'],
      ['config.p2p', '{"enabled":false}'],
    ])
  })

  it('carries raw hash text from older releases back unchanged', () => {
    const request = parseState({
      room: 'MyRoom',
      'config.startWithAudioMuted': 'true',
      'config.subject': '"Weekly"',
      'config.channelLastN': '5',
      'iceServers.replace': '[{"urls":"turn:turn.example"}]',
    })

    assert.deepEqual(request.overrides, [
      ['config.startWithAudioMuted', 'true'],
      ['config.subject', '"Weekly"'],
      ['config.channelLastN', '5'],
      ['iceServers.replace', '[{"urls":"turn:turn.example"}]'],
    ])
  })

  it('quotes a string that is not JSON text', () => {
    const request = parseState({ room: 'MyRoom', 'config.subject': 'Team "A" sync' })

    assert.deepEqual(request.overrides, [['config.subject', '"Team \\"A\\" sync"']])
  })

  it('drops keys with a prototype part and keys that are not plain dotted names', () => {
    const request = parseLoginRequest({
      state:
        '{"room":"MyRoom","config.__proto__.x":true,"config.constructor":1,"interfaceConfig.a.prototype":1,' +
        '"config.a b":1,"config.a%2Eb":1,"config.":1,"config..a":1,"config.a&b=c":1,"config.ok":1}',
    })

    assert.deepEqual(request.overrides, [['config.ok', '1']])
  })

  it('drops values that hold a prototype key', () => {
    const request = parseLoginRequest({
      state:
        '{"room":"MyRoom","config.a":{"__proto__":{"x":1}},"config.b":"{\\"constructor\\":1}","config.c":{"d":[{"prototype":1}]},"config.ok":true}',
    })

    assert.deepEqual(request.overrides, [['config.ok', 'true']])
  })

  it('keeps at most 50 overrides', () => {
    const state: Record<string, unknown> = { room: 'MyRoom' }
    for (let index = 0; index < 60; index += 1) state[`config.k${index}`] = true

    const request = parseState(state)

    assert.equal(request.overrides.length, 50)
    assert.deepEqual(request.overrides.at(-1), ['config.k49', 'true'])
  })

  it('drops an override over the 2 KB budget and keeps later small ones', () => {
    const request = parseState({
      room: 'MyRoom',
      'config.first': true,
      'config.subject': 'x'.repeat(2100),
      'config.prejoinConfig.enabled': false,
    })

    assert.deepEqual(request.overrides, [
      ['config.first', 'true'],
      ['config.prejoinConfig.enabled', 'false'],
    ])
  })
})

describe('parseLoginRequest with roomname= or room=', () => {
  it('reads roomname from the page script', () => {
    assert.deepEqual(parseLoginRequest({ roomname: 'MyRoom' }), {
      room: 'MyRoom',
      roomSafe: 'myroom',
      client: 'web',
      overrides: [],
      popup: false,
    })
  })

  it('splits roomname tenant/room at the last slash', () => {
    const request = parseLoginRequest({ roomname: 'Team/Daily' })

    assert.equal(request.tenant, 'Team')
    assert.equal(request.room, 'Daily')
    assert.equal(request.roomSafe, 'daily')
  })

  it('re-encodes a room the query parser decoded', () => {
    const request = parseLoginRequest({ room: 'My Room', tenant: 'acme' })

    assert.deepEqual(request, {
      room: 'My%20Room',
      roomSafe: 'my%20room',
      tenant: 'acme',
      client: 'web',
      overrides: [],
      popup: false,
    })
  })

  it('returns a Swedish room in UTF-8 percent-encoded form', () => {
    const request = parseLoginRequest({ roomname: 'Räksmörgås' })

    assert.equal(request.room, 'R%C3%A4ksm%C3%B6rg%C3%A5s')
    assert.equal(request.roomSafe, 'r%c3%a4ksm%c3%b6rg%c3%a5s')
  })

  it('drops the characters Jitsi drops that browsers leave literal in a path', () => {
    const request = parseLoginRequest({ roomname: "Team:Sync(Weekly)@Q3's" })

    assert.equal(request.room, 'TeamSyncWeeklyQ3s')
    assert.equal(request.roomSafe, 'teamsyncweeklyq3s')
  })

  it('refuses a query room made only of characters Jitsi drops', () => {
    assert.throws(() => parseLoginRequest({ room: '*' }), { code: 'ERR_JITSI_ROOM_INVALID' })
    assert.throws(() => parseLoginRequest({ room: '()' }), { code: 'ERR_JITSI_ROOM_INVALID' })
  })

  it('keeps a literal percent sign as %25', () => {
    const request = parseLoginRequest({ room: '100%' })

    assert.equal(request.room, '100%25')
    assert.equal(request.roomSafe, '100%25')
  })

  it('accepts a matching tenant next to roomname tenant/room', () => {
    assert.equal(parseLoginRequest({ roomname: 'Team/Daily', tenant: 'Team' }).tenant, 'Team')
  })

  it('refuses a tenant that conflicts with the one in roomname', () => {
    assert.throws(() => parseLoginRequest({ roomname: 'Team/Daily', tenant: 'Other' }), {
      code: 'ERR_JITSI_TENANT_INVALID',
    })
  })

  it('treats the literal {state} as absent and falls back to room', () => {
    assert.equal(parseLoginRequest({ state: '{state}', room: 'MyRoom' }).room, 'MyRoom')
  })

  it('sets popup from nonce on the room form too', () => {
    assert.equal(parseLoginRequest({ room: 'MyRoom', nonce: 'abc' }).popup, true)
  })

  const refused: Array<[query: Record<string, unknown>, code: string]> = [
    [{}, 'ERR_JITSI_ROOM_MISSING'],
    [{ room: '{room}' }, 'ERR_JITSI_ROOM_MISSING'],
    [{ roomname: '' }, 'ERR_JITSI_ROOM_MISSING'],
    [{ roomname: ['a', 'b'] }, 'ERR_JITSI_ROOM_INVALID'],
    [{ room: 'MyRoom', tenant: ['a', 'b'] }, 'ERR_JITSI_TENANT_INVALID'],
    [{ room: 'MyRoom', nonce: ['a', 'b'] }, 'ERR_JITSI_STATE_INVALID'],
    [{ roomname: '//evil.example' }, 'ERR_JITSI_TENANT_INVALID'],
    [{ roomname: '/\\evil.example' }, 'ERR_JITSI_TENANT_INVALID'],
    [{ roomname: 'https://evil.example' }, 'ERR_JITSI_TENANT_INVALID'],
    [{ roomname: 'a/b/c' }, 'ERR_JITSI_TENANT_INVALID'],
    [{ roomname: '\\evil.example' }, 'ERR_JITSI_ROOM_INVALID'],
    [{ roomname: 'evil.example@', tenant: 'evil.example@' }, 'ERR_JITSI_TENANT_INVALID'],
    [{ room: '..' }, 'ERR_JITSI_ROOM_INVALID'],
    [{ room: 'a\r\nb' }, 'ERR_JITSI_ROOM_INVALID'],
    [{ room: '*' }, 'ERR_JITSI_ROOM_INVALID'],
    [{ room: 'a\ud800' }, 'ERR_JITSI_ROOM_INVALID'],
  ]
  for (const [query, code] of refused) {
    it(`refuses ${JSON.stringify(query)} with ${code}`, () => {
      assert.throws(() => parseLoginRequest(query), { code })
    })
  }
})

describe('parseLoginRequest with the raw query string, as Jitsi and the page script write it', () => {
  const cases: Array<[rawQuery: string, room: string, roomSafe: string, tenant?: string]> = [
    ['room=a%3Db', 'a%3Db', 'a%3db'],
    ['room=a%26b', 'a%26b', 'a%26b'],
    ['room=a%3Bb', 'a%3Bb', 'a%3bb'],
    ['room=room%3Fx%3D1', 'room%3Fx%3D1', 'room%3fx%3d1'],
    ['roomname=a+b', 'ab', 'ab'],
    ['roomname=My%20Room', 'My%20Room', 'my%20room'],
    ['roomname=Team/Daily%20Standup', 'Daily%20Standup', 'daily%20standup', 'Team'],
    ['room=Caf%C3%A9&tenant=acme', 'Caf%C3%A9', 'caf%c3%a9', 'acme'],
    ['room=Stra%C3%9Fe&code_challenge=%7Bcode_challenge%7D', 'Stra%C3%9Fe', 'stra%c3%9fe'],
  ]
  for (const [rawQuery, room, roomSafe, tenant] of cases) {
    it(`reads ${rawQuery} as room ${room}${tenant ? ` in tenant ${tenant}` : ''}`, () => {
      const query = Object.fromEntries(new URLSearchParams(rawQuery))
      const request = parseLoginRequest(query, `?${rawQuery}`)

      assert.equal(request.room, room)
      assert.equal(request.roomSafe, roomSafe)
      assert.equal(request.tenant, tenant)
    })
  }

  it('refuses a room given twice in the raw query', () => {
    assert.throws(() => parseLoginRequest({ room: ['a', 'b'] }, '?room=a&room=b'), {
      code: 'ERR_JITSI_ROOM_INVALID',
    })
  })
})

describe('buildStateJson', () => {
  it('rebuilds the state of an iOS login with room, tenant, platform and override values', () => {
    const request = parseState({
      room: 'Daily%20Standup',
      tenant: 'acme',
      ios: true,
      'config.subject': 'x',
      'config.startWithAudioMuted': true,
    })
    assert.equal(
      buildStateJson(request),
      '{"room":"Daily%20Standup","tenant":"acme","ios":true,"config.subject":"x","config.startWithAudioMuted":true}',
    )
  })

  for (const [name, state] of [
    ['a web login from roomname=', undefined],
    ['an Android login', { room: 'Caf%C3%A9', android: true, 'config.p.q': { a: [1, null] } }],
    ['an Electron login with a tenant', { room: 'Daily', tenant: 'Acme', electron: true }],
    ['a string override that reads as JSON', { room: 'Daily', 'config.subject': 'true' }],
    ['an older Jitsi override given as JSON text', { room: 'Daily', 'config.subject': '"42"' }],
  ] as const) {
    it(`parses back to the same request for ${name}`, () => {
      const request =
        state === undefined
          ? parseLoginRequest({ roomname: 'acme/Daily Standup' })
          : parseState(state)
      assert.deepEqual(parseState(JSON.parse(buildStateJson(request))), request)
    })
  }
})
