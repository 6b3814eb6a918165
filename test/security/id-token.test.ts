import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, beforeEach, describe, it } from 'node:test'

import { startBadProvider } from '../support/bad-provider.js'
import { decodeJwt, tokenFromUrl } from '../support/harness.js'
import {
  errorCodeOf,
  jitsiOrigin,
  loginAt,
  startBadRig,
  withClockAhead,
  type BadLogin,
  type BadRig,
} from './support.js'

/** A refusal: a 4xx page naming `code`, no redirect, and no Jitsi token anywhere. */
function assertRefused(login: BadLogin, code: string): void {
  assert.equal(login.callback.status, 400, login.body)
  assert.equal(errorCodeOf(login.body), code)
  assert.equal(login.location, null)
  assert.doesNotMatch(login.body, /jwt=|eyJ/)
}

function assertAccepted(login: BadLogin): Record<string, unknown> {
  assert.equal(login.callback.status, 302, login.body)
  assert.ok(login.location!.startsWith(`${jitsiOrigin}/standup#jwt=`), login.location!)
  return decodeJwt(tokenFromUrl(login.location!)).payload
}

describe('ID tokens from a misbehaving provider', () => {
  let rig: BadRig
  before(async () => {
    rig = await startBadRig()
  })
  after(() => rig.close())
  beforeEach(() => rig.provider.behave({}))

  it('accepts a well-behaved RS256 ID token without at_hash', async () => {
    const payload = assertAccepted(await loginAt(rig))
    assert.equal((payload['context'] as { user: { id: string } }).user.id, 'ana')
  })

  it('refuses an ID token with alg none', async () => {
    rig.provider.behave({ signWith: 'none' })
    assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
  })

  it('refuses an RS256 ID token with a bad signature', async () => {
    rig.provider.behave({ tamperSignature: true })
    assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
  })

  it('refuses an ES256 ID token with a bad signature', async () => {
    rig.provider.behave({ signWith: 'ES256', tamperSignature: true })
    assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
  })

  it('refuses an ID token signed by a key that is not in the JWKS', async () => {
    rig.provider.behave({ signWith: 'foreign' })
    assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
  })

  it('refuses an ID token signed by another key under a known kid', async () => {
    rig.provider.behave({ signWith: 'foreign-same-kid' })
    assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
  })

  it('accepts ES256 and PS256 ID tokens', async () => {
    for (const alg of ['ES256', 'PS256'] as const) {
      rig.provider.behave({ signWith: alg })
      assertAccepted(await loginAt(rig))
    }
  })

  it('refuses a wrong iss, including the issuer with a trailing slash added', async () => {
    for (const iss of ['http://evil.example/realms/test', `${rig.provider.issuer}/`]) {
      rig.provider.behave({ idTokenClaims: (claims) => ({ ...claims, iss }) })
      assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
    }
  })

  it('refuses a wrong aud and an aud list that lacks the client', async () => {
    for (const aud of ['other-client', ['other-client', 'another'], []]) {
      rig.provider.behave({ idTokenClaims: (claims) => ({ ...claims, aud }) })
      assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
    }
  })

  it('refuses several audiences with a missing or wrong azp', async () => {
    for (const azp of [undefined, 'other']) {
      rig.provider.behave({
        idTokenClaims: (claims) => ({
          ...claims,
          aud: ['jitsi-test', 'other'],
          ...(azp ? { azp } : {}),
        }),
      })
      assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
    }
  })

  it('refuses one audience with the azp of another client', async () => {
    rig.provider.behave({ idTokenClaims: (claims) => ({ ...claims, azp: 'other' }) })
    assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
    rig.provider.behave({ idTokenClaims: (claims) => ({ ...claims, azp: 'jitsi-test' }) })
    assertAccepted(await loginAt(rig))
  })

  it('refuses a sub longer than the 255 characters OpenID Connect allows', async () => {
    rig.provider.behave({ idTokenClaims: (claims) => ({ ...claims, sub: 'u'.repeat(256) }) })
    assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
  })

  it('refuses a sub with control characters, which XMPP presence cannot carry', async () => {
    rig.provider.behave({ idTokenClaims: (claims) => ({ ...claims, sub: 'ana\u0001' }) })
    assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
  })

  it('shortens a huge display name so the token still fits Prosody', async () => {
    rig.provider.behave({
      idTokenClaims: (claims) => ({
        ...claims,
        name: 'Ä'.repeat(3000),
        picture: `https://img.example/${'p'.repeat(2000)}.png`,
      }),
    })
    const login = await loginAt(rig)
    const payload = assertAccepted(login)
    const user = (payload['context'] as { user: { name: string; avatar?: string } }).user
    assert.equal(user.name, 'Ä'.repeat(256))
    assert.equal(user.avatar, `https://img.example/${'p'.repeat(2000)}.png`)
    assert.ok(tokenFromUrl(login.location!).length < 4096)
  })

  it('accepts several audiences when azp is the client', async () => {
    rig.provider.behave({
      idTokenClaims: (claims) => ({ ...claims, aud: ['jitsi-test', 'other'], azp: 'jitsi-test' }),
    })
    assertAccepted(await loginAt(rig))
  })

  it('refuses an ID token that expired beyond the clock tolerance', async () => {
    rig.provider.behave({
      idTokenClaims: (claims) => ({ ...claims, iat: now() - 600, exp: now() - 61 }),
    })
    assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
  })

  it('refuses an iat more than 60 s in the future', async () => {
    rig.provider.behave({
      idTokenClaims: (claims) => ({ ...claims, iat: now() + 120, exp: now() + 600 }),
    })
    assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
  })

  it('accepts clock skew within the tolerance on iat and exp', async () => {
    rig.provider.behave({ idTokenClaims: (claims) => ({ ...claims, iat: now() + 30 }) })
    assertAccepted(await loginAt(rig))
    rig.provider.behave({
      idTokenClaims: (claims) => ({ ...claims, iat: now() - 300, exp: now() - 30 }),
    })
    assertAccepted(await loginAt(rig))
  })

  for (const claim of ['iat', 'sub', 'nonce']) {
    it(`refuses an ID token without ${claim}`, async () => {
      rig.provider.behave({
        idTokenClaims: (claims) => {
          const { [claim]: _dropped, ...rest } = claims
          return rest
        },
      })
      assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
    })
  }

  it('refuses a nonce that does not match the login', async () => {
    rig.provider.behave({ idTokenClaims: (claims) => ({ ...claims, nonce: 'attacker-nonce' }) })
    assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
  })

  it('refuses an at_hash that does not match the access token', async () => {
    rig.provider.behave({
      idTokenClaims: (claims) => ({ ...claims, at_hash: leftHalfHash('other') }),
    })
    assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
  })

  it('accepts an at_hash that matches the access token', async () => {
    rig.provider.behave({
      idTokenClaims: (claims, { accessToken }) => ({
        ...claims,
        at_hash: leftHalfHash(accessToken),
      }),
    })
    assertAccepted(await loginAt(rig))
  })

  it('refuses userinfo whose sub differs from the ID token', async () => {
    rig.provider.behave({
      idTokenClaims: ({ name: _name, ...claims }) => claims,
      userinfo: (claims) => ({ ...claims, sub: 'mallory' }),
    })
    const login = await loginAt(rig)
    assert.equal(rig.provider.count('userinfo'), 1)
    assertRefused(login, 'ERR_OIDC_USERINFO_INVALID')
  })

  it('accepts an ID token without kid when the JWKS has one key without kid', async () => {
    const provider = await startBadProvider()
    provider.behave({ jwksKids: ['rs256-1'], jwksWithoutKids: true, omitKid: true })
    const single = await startBadRig({}, provider)
    try {
      assertAccepted(await loginAt(single))
    } finally {
      await single.close()
      await provider.close()
    }
  })
})

describe('signing key rotation', () => {
  it('refetches the JWKS once for a new kid, no sooner than 60 s after the last fetch', async () => {
    const rig = await startBadRig()
    try {
      const kid = await rig.provider.rotate()
      rig.provider.behave({ signWith: 'rotated' })

      // A fresh cache is not refetched: an attacker cannot make every callback hit the JWKS.
      assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
      assert.equal(rig.provider.count('jwks'), 0)
      // The admin's log says the refusal ends by itself within the minute.
      assert.ok(
        rig.adapter.logs.some((line) => line.includes('logins recover within 60 s')),
        'no rotation hint in the log',
      )

      await withClockAhead(61, async () => {
        rig.provider.behave({ signWith: 'rotated' })
        const payload = assertAccepted(await loginAt(rig))
        assert.equal(payload['room'], 'standup')
        assert.equal(rig.provider.count('jwks'), 1)
        assert.match(kid, /^rotated-/)

        // The next unknown kid within the minute is refused without another fetch.
        await rig.provider.rotate()
        assertRefused(await loginAt(rig), 'ERR_OIDC_ID_TOKEN_INVALID')
        assert.equal(rig.provider.count('jwks'), 1)
      })
    } finally {
      await rig.close()
    }
  })
})

function now(): number {
  return Math.floor(Date.now() / 1000)
}

function leftHalfHash(value: string): string {
  return createHash('sha256').update(value).digest().subarray(0, 16).toString('base64url')
}
