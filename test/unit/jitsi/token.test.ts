import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { describe, it } from 'node:test'
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose'
import { buildBackendSafeRoomName } from '../../../src/jitsi/room.js'
import {
  assertProsodyAccepts,
  buildJitsiClaims,
  signJitsiToken,
  type JitsiTokenSettings,
} from '../../../src/jitsi/token.js'

const NOW = 1_780_000_000

const settings: JitsiTokenSettings = {
  secret: new TextEncoder().encode('testsecret'),
  algorithm: 'HS256',
  issuer: 'jitsi_app',
  audience: 'jitsi',
  subject: 'meet.jitsi',
  lifetimeSeconds: 10800,
  notBeforeSkewSeconds: 60,
  roomScope: 'room',
}

const ana = { id: 'u-ana', name: 'Ana Host', email: 'ana@example.org', moderator: true }

function encodePart(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function signParts(headerPart: string, payloadPart: string, secret: string, hash: string) {
  const input = `${headerPart}.${payloadPart}`
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`
}

function signRaw(header: unknown, payload: unknown, secret = 'testsecret', hash = 'sha256') {
  return signParts(encodePart(header), encodePart(payload), secret, hash)
}

const acceptedPayload = {
  aud: 'jitsi',
  iss: 'jitsi_app',
  sub: 'meet.jitsi',
  room: 'caf%c3%a9',
  iat: NOW,
  nbf: NOW - 60,
  exp: NOW + 10800,
  context: { user: { id: 'u-ana', name: 'Ana Host', email: 'ana@example.org' } },
}
const hs256 = { alg: 'HS256', typ: 'JWT' }

describe('buildJitsiClaims', () => {
  it('builds the claims for /Café on docker with integer times and nbf in the past', () => {
    const claims = buildJitsiClaims({
      request: { roomSafe: 'caf%c3%a9' },
      user: ana,
      settings,
      nowSeconds: NOW + 0.75,
    })

    assert.deepEqual(claims, {
      iss: 'jitsi_app',
      aud: 'jitsi',
      sub: 'meet.jitsi',
      room: 'caf%c3%a9',
      iat: NOW,
      nbf: NOW - 60,
      exp: NOW + 10800,
      context: {
        user: {
          id: 'u-ana',
          name: 'Ana Host',
          email: 'ana@example.org',
          affiliation: 'owner',
          moderator: true,
        },
      },
    })
  })

  it('gives a tenant room /Team/Daily the sub "team"', () => {
    const claims = buildJitsiClaims({
      request: { roomSafe: 'daily', tenant: 'Team' },
      user: ana,
      settings,
      nowSeconds: NOW,
    })

    assert.equal(claims.sub, 'team')
    assert.equal(claims.room, 'daily')
  })

  it("lower-cases a tenant's ASCII letters only, as Prosody compares it", () => {
    for (const [tenant, sub] of [
      ['CAFÉ', 'cafÉ'],
      ['Ｔｅａｍ', 'Ｔｅａｍ'],
      ['Team_42', 'team_42'],
    ]) {
      const claims = buildJitsiClaims({
        request: { roomSafe: 'daily', tenant: tenant! },
        user: ana,
        settings,
        nowSeconds: NOW,
      })
      assert.equal(claims.sub, sub, tenant)
    }
  })

  it('keeps sub "*" for a tenant room when the configured subject is "*"', () => {
    const claims = buildJitsiClaims({
      request: { roomSafe: 'daily', tenant: 'Team' },
      user: ana,
      settings: { ...settings, subject: '*' },
      nowSeconds: NOW,
    })

    assert.equal(claims.sub, '*')
  })

  it('uses the room "*" only when the admin configured roomScope "any"', () => {
    const claims = buildJitsiClaims({
      request: { roomSafe: 'daily' },
      user: ana,
      settings: { ...settings, roomScope: 'any' },
      nowSeconds: NOW,
    })

    assert.equal(claims.room, '*')
  })

  it('makes a non-moderator a member with moderator false as a boolean', () => {
    const claims = buildJitsiClaims({
      request: { roomSafe: 'daily' },
      user: { id: 'u-bo', moderator: false },
      settings,
      nowSeconds: NOW,
    })

    assert.deepEqual(claims.context, {
      user: { id: 'u-bo', affiliation: 'member', moderator: false },
    })
  })

  it('adds lobby and security bypass only when true, and omits empty strings', () => {
    const claims = buildJitsiClaims({
      request: { roomSafe: 'daily' },
      user: {
        id: 'u-cy',
        name: '',
        avatar: 'https://img.example/cy.png',
        moderator: true,
        lobbyBypass: true,
        securityBypass: false,
      },
      settings,
      nowSeconds: NOW,
    })

    assert.deepEqual(claims.context.user, {
      id: 'u-cy',
      avatar: 'https://img.example/cy.png',
      affiliation: 'owner',
      moderator: true,
      lobby_bypass: true,
    })
  })

  it('emits context.features as booleans only when features are given', () => {
    const withFeatures = buildJitsiClaims({
      request: { roomSafe: 'daily' },
      user: ana,
      features: { recording: true, livestreaming: false },
      settings,
      nowSeconds: NOW,
    })
    const withEmpty = buildJitsiClaims({
      request: { roomSafe: 'daily' },
      user: ana,
      features: {},
      settings,
      nowSeconds: NOW,
    })

    assert.deepEqual(withFeatures.context.features, { recording: true, livestreaming: false })
    assert.equal('features' in withEmpty.context, false)
  })

  it('puts nothing but the listed user fields in context.user', () => {
    const user = { ...ana, groups: ['staff'], internalId: 42 }

    const claims = buildJitsiClaims({
      request: { roomSafe: 'daily' },
      user,
      settings,
      nowSeconds: NOW,
    })

    assert.deepEqual(Object.keys(claims.context.user), [
      'id',
      'name',
      'email',
      'affiliation',
      'moderator',
    ])
  })
})

describe("the token's size", () => {
  const huge = {
    id: 'u'.repeat(255),
    name: '名'.repeat(256),
    email: `${'e'.repeat(240)}@example.org`,
    avatar: `https://img.example/${'a'.repeat(2000)}`,
    moderator: true,
  }
  // The longest room the room checks let through: 1023 bytes once encoded.
  const longestRoom = buildBackendSafeRoomName('会'.repeat(113))

  for (const algorithm of ['HS256', 'HS512'] as const) {
    it(`stays under Prosody's 4096 bytes with every field at its limit (${algorithm})`, async () => {
      const own = { ...settings, algorithm }
      const claims = buildJitsiClaims({
        request: { roomSafe: longestRoom, tenant: 't'.repeat(64) },
        user: huge,
        features: { recording: true, livestreaming: false, transcription: true },
        settings: own,
        nowSeconds: NOW,
      })
      const token = await signJitsiToken(claims, own)

      assert.ok(token.length < 4096, String(token.length))
      assertProsodyAccepts(token, {
        settings: own,
        roomSafe: longestRoom,
        tenant: 't'.repeat(64),
        nowSeconds: NOW,
      })
      // What gives way, in order: the picture, then as much of the name as needed.
      assert.equal(claims.context.user.avatar, undefined)
      assert.equal(claims.context.user.id, huge.id)
    })
  }

  it('leaves a token that fits as it is', () => {
    const claims = buildJitsiClaims({
      request: { roomSafe: 'daily' },
      user: { ...huge, name: '名'.repeat(100), avatar: `https://img.example/${'a'.repeat(1000)}` },
      settings,
      nowSeconds: NOW,
    })
    assert.equal(claims.context.user.avatar, `https://img.example/${'a'.repeat(1000)}`)
    assert.equal(claims.context.user.name, '名'.repeat(100))
    assert.equal(claims.context.user.email, huge.email)
  })
})

describe('signJitsiToken', () => {
  for (const algorithm of ['HS256', 'HS384', 'HS512'] as const) {
    it(`signs with ${algorithm} and the header exactly {"alg","typ":"JWT"}`, async () => {
      const own = { ...settings, algorithm }
      const claims = buildJitsiClaims({
        request: { roomSafe: 'daily' },
        user: ana,
        settings: own,
        nowSeconds: NOW,
      })

      const token = await signJitsiToken(claims, own)

      const header = Buffer.from(token.split('.')[0]!, 'base64url').toString()
      assert.equal(header, `{"alg":"${algorithm}","typ":"JWT"}`)
      assert.deepEqual(decodeProtectedHeader(token), { alg: algorithm, typ: 'JWT' })
      assert.deepEqual(decodeJwt(token), claims)
      const verified = await jwtVerify(token, own.secret, { currentDate: new Date(NOW * 1000) })
      assert.deepEqual(verified.payload, claims)
      assertProsodyAccepts(token, { settings: own, roomSafe: 'daily', nowSeconds: NOW })
    })
  }

  it('mints a tenant token for /Team/Daily that Prosody accepts', async () => {
    const claims = buildJitsiClaims({
      request: { roomSafe: 'daily', tenant: 'Team' },
      user: ana,
      settings,
      nowSeconds: NOW,
    })

    const token = await signJitsiToken(claims, settings)

    assert.equal(decodeJwt(token).sub, 'team')
    assertProsodyAccepts(token, { settings, roomSafe: 'daily', tenant: 'Team', nowSeconds: NOW })
  })
})

describe('assertProsodyAccepts: JITSI.md §9 examples', () => {
  const expected = { settings, roomSafe: 'caf%c3%a9', nowSeconds: NOW }

  it('accepts the §9 token for /Café', () => {
    assertProsodyAccepts(signRaw(hs256, acceptedPayload), expected)
  })

  it('accepts the token at exactly nbf and one second before exp', () => {
    assertProsodyAccepts(signRaw(hs256, acceptedPayload), { ...expected, nowSeconds: NOW - 60 })
    assertProsodyAccepts(signRaw(hs256, acceptedPayload), { ...expected, nowSeconds: NOW + 10799 })
  })

  const rejected: Array<[description: string, token: string, rule: RegExp]> = [
    ['a header without typ', signRaw({ alg: 'HS256' }, acceptedPayload), /invalid typ/],
    [
      'typ "jwt" in lower case',
      signRaw({ alg: 'HS256', typ: 'jwt' }, acceptedPayload),
      /invalid typ/,
    ],
    [
      'HS512 against an HS256 Prosody',
      signRaw({ alg: 'HS512', typ: 'JWT' }, acceptedPayload, 'testsecret', 'sha512'),
      /incorrect alg/,
    ],
    [
      'alg none',
      `${encodePart({ alg: 'none', typ: 'JWT' })}.${encodePart(acceptedPayload)}.`,
      /three non-empty/,
    ],
    ['exp equal to now', signRaw(hs256, { ...acceptedPayload, exp: NOW }), /exp/],
    [
      'exp as a string',
      signRaw(hs256, { ...acceptedPayload, exp: String(NOW + 10800) }),
      /exp and nbf/,
    ],
    ['nbf 30 s in the future', signRaw(hs256, { ...acceptedPayload, nbf: NOW + 30 }), /nbf/],
    ['no sub', signRaw(hs256, { ...acceptedPayload, sub: undefined }), /sub claim is missing/],
    ['no room', signRaw(hs256, { ...acceptedPayload, room: undefined }), /room claim is missing/],
    [
      'the display-form room "Café"',
      signRaw(hs256, { ...acceptedPayload, room: 'Café' }),
      /requested room/,
    ],
    ['aud as an array', signRaw(hs256, { ...acceptedPayload, aud: ['jitsi', 'x'] }), /aud/],
    ['another issuer', signRaw(hs256, { ...acceptedPayload, iss: 'other' }), /iss/],
    ['another secret', signRaw(hs256, acceptedPayload, 'wrongsecret'), /signature/],
    ['a non-integer exp', signRaw(hs256, { ...acceptedPayload, exp: NOW + 0.5 }), /integers/],
    [
      'moderator as the string "false"',
      signRaw(hs256, { ...acceptedPayload, context: { user: { id: 'u', moderator: 'false' } } }),
      /moderator/,
    ],
    [
      'a numeric user name',
      signRaw(hs256, { ...acceptedPayload, context: { user: { id: 'u', name: 7 } } }),
      /name/,
    ],
    ['no context.user', signRaw(hs256, { ...acceptedPayload, context: {} }), /context.user/],
    [
      'a payload that is not JSON',
      signParts(encodePart(hs256), 'bm90IGpzb24', 'testsecret', 'sha256'),
      /payload/,
    ],
    ['two parts', `${encodePart(hs256)}.${encodePart(acceptedPayload)}`, /three non-empty/],
    [
      'a token of 4096 bytes or more',
      signRaw(hs256, {
        ...acceptedPayload,
        context: { user: { id: 'u', name: 'x'.repeat(3200) } },
      }),
      /4096 bytes/,
    ],
  ]
  for (const [description, token, rule] of rejected) {
    it(`rejects ${description}`, () => {
      assert.throws(
        () => assertProsodyAccepts(token, expected),
        (error: { code: string; detail: string }) => {
          assert.equal(error.code, 'ERR_JITSI_TOKEN_INVALID')
          assert.match(error.detail, rule)
          assert.equal(error.detail.includes(token), false)
          return true
        },
      )
    })
  }

  it('rejects the wildcard room when the admin scoped tokens to one room', () => {
    const token = signRaw(hs256, { ...acceptedPayload, room: '*' })

    assert.throws(() => assertProsodyAccepts(token, expected), { code: 'ERR_JITSI_TOKEN_INVALID' })
  })

  it('rejects the wildcard room even when it is also the requested room (K21)', () => {
    const token = signRaw(hs256, { ...acceptedPayload, room: '*' })

    assert.throws(() => assertProsodyAccepts(token, { ...expected, roomSafe: '*' }), {
      code: 'ERR_JITSI_TOKEN_INVALID',
    })
  })

  it('accepts the wildcard room when roomScope is "any"', () => {
    const token = signRaw(hs256, { ...acceptedPayload, room: '*' })

    assertProsodyAccepts(token, { ...expected, settings: { ...settings, roomScope: 'any' } })
  })

  it('rejects a roomSafe that is not in backend-safe form even when claim and room agree', () => {
    const token = signRaw(hs256, { ...acceptedPayload, room: 'Caf%C3%A9' })

    assert.throws(() => assertProsodyAccepts(token, { ...expected, roomSafe: 'Caf%C3%A9' }), {
      code: 'ERR_JITSI_TOKEN_INVALID',
    })
  })

  for (const typed of ['%27x', '%22%20onmouseover%3D%22alert%22%27', 'a%2Ab', '(draft)%21']) {
    it(`accepts the claim Jitsi computes for the typed room ${typed}, quotes and brackets kept`, () => {
      const roomSafe = buildBackendSafeRoomName(typed)
      const token = signRaw(hs256, { ...acceptedPayload, room: roomSafe })

      assertProsodyAccepts(token, { ...expected, roomSafe })
    })
  }

  const tenantRoom = { settings, roomSafe: 'weekly%20sync', tenant: 'Team', nowSeconds: NOW }
  for (const sub of ['team', 'Team', '*']) {
    it(`accepts sub ${JSON.stringify(sub)} for the tenant room /Team/Weekly%20Sync`, () => {
      const token = signRaw(hs256, { ...acceptedPayload, room: 'weekly%20sync', sub })
      assertProsodyAccepts(token, tenantRoom)
    })
  }

  it('rejects sub "meet.jitsi" for the tenant room /Team/Weekly%20Sync', () => {
    const token = signRaw(hs256, { ...acceptedPayload, room: 'weekly%20sync', sub: 'meet.jitsi' })

    assert.throws(() => assertProsodyAccepts(token, tenantRoom), {
      code: 'ERR_JITSI_TOKEN_INVALID',
    })
  })

  it('rejects a sub other than the configured domain for a room without tenant', () => {
    const token = signRaw(hs256, { ...acceptedPayload, sub: 'meet.example.com' })

    assert.throws(() => assertProsodyAccepts(token, expected), { code: 'ERR_JITSI_TOKEN_INVALID' })
  })
})
