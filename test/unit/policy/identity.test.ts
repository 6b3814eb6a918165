import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { parseClaimPath, readClaim, toNameList } from '../../../src/policy/claims.js'
import { buildIdentity, mergeClaims } from '../../../src/policy/identity.js'
import { buildClaimMapping } from '../../../src/policy/presets.js'

const context = { issuer: 'https://idp.example', clientId: 'jitsi' }

describe('mergeClaims', () => {
  const idToken = {
    iss: 'https://idp.example',
    aud: 'jitsi',
    sub: 'u1',
    nonce: 'n',
    exp: 2,
    iat: 1,
  }

  it('lets userinfo win over the ID token for profile claims', () => {
    const merged = mergeClaims(
      { ...idToken, name: 'Old' },
      { sub: 'u1', name: 'New', email: 'a@b.example' },
    )

    assert.equal(merged.name, 'New')
    assert.equal(merged.email, 'a@b.example')
  })

  it('keeps the ID token values of iss, aud, nonce, exp and iat', () => {
    const merged = mergeClaims(idToken, {
      sub: 'u1',
      iss: 'https://evil.example',
      aud: 'other',
      nonce: 'x',
      exp: 999,
      iat: 998,
    })

    assert.deepEqual(
      [merged.iss, merged.aud, merged.nonce, merged.exp, merged.iat],
      ['https://idp.example', 'jitsi', 'n', 2, 1],
    )
  })

  it('drops authentication claims that only userinfo carries', () => {
    const merged = mergeClaims(idToken, { sub: 'u1', acr: 'high', auth_time: 5 })

    assert.equal(Object.hasOwn(merged, 'acr'), false)
    assert.equal(Object.hasOwn(merged, 'auth_time'), false)
  })

  it('refuses userinfo whose sub differs from the ID token', () => {
    assert.throws(() => mergeClaims(idToken, { sub: 'u2' }), { code: 'ERR_OIDC_USERINFO_INVALID' })
  })

  it('refuses userinfo without a sub', () => {
    assert.throws(() => mergeClaims(idToken, { name: 'x' }), { code: 'ERR_OIDC_USERINFO_INVALID' })
  })

  it('accepts userinfo alone when there is no ID token sub to compare', () => {
    assert.equal(mergeClaims({}, { sub: 'u9' }).sub, 'u9')
  })
})

describe('buildIdentity', () => {
  const mapping = buildClaimMapping('generic')

  it('refuses claims without a sub', () => {
    assert.throws(() => buildIdentity({ name: 'x' }, mapping, context), {
      code: 'ERR_OIDC_ID_TOKEN_INVALID',
    })
  })

  it('records the issuer and the raw claims', () => {
    const claims = { sub: 'u1', tid: 't' }
    const identity = buildIdentity(claims, mapping, context)

    assert.equal(identity.issuer, 'https://idp.example')
    assert.equal(identity.subject, 'u1')
    assert.equal(identity.claims.tid, 't')
  })

  it('prefers the configured name claim and falls back when it is empty', () => {
    const custom = buildClaimMapping('generic', { name: parseClaimPath('nickname') })

    assert.equal(
      buildIdentity({ sub: 'u', nickname: 'Nick', name: 'Full' }, custom, context).name,
      'Nick',
    )
    assert.equal(
      buildIdentity({ sub: 'u', nickname: ' ', name: 'Full' }, custom, context).name,
      'Full',
    )
  })

  it('keeps email_verified as a boolean and leaves it out when absent', () => {
    assert.equal(
      buildIdentity({ sub: 'u', email_verified: 'TRUE' }, mapping, context).emailVerified,
      true,
    )
    assert.equal(
      Object.hasOwn(buildIdentity({ sub: 'u' }, mapping, context), 'emailVerified'),
      false,
    )
  })

  it('prefers a picture claim over Gravatar', () => {
    const gravatar = buildClaimMapping('generic', {}, true)
    const claims = { sub: 'u', email: 'a@b.example', picture: 'https://img.example/a.png' }

    assert.equal(buildIdentity(claims, gravatar, context).avatar, 'https://img.example/a.png')
  })

  it('deduplicates groups gathered from several paths', () => {
    const twoPaths = buildClaimMapping('generic', {
      groups: [parseClaimPath('groups'), parseClaimPath('teams')],
    })
    const identity = buildIdentity(
      { sub: 'u', groups: ['a', 'b'], teams: 'b, c' },
      twoPaths,
      context,
    )

    assert.deepEqual(identity.groups, ['a', 'b', 'c'])
  })

  it('records whether any group claim arrived, an empty list included', () => {
    const twoPaths = buildClaimMapping('generic', {
      groups: [parseClaimPath('groups'), parseClaimPath('org.teams')],
    })
    const present = (claims: Record<string, unknown>) =>
      buildIdentity({ sub: 'u', ...claims }, twoPaths, context).groupsClaimPresent

    assert.equal(present({}), false)
    assert.equal(present({ groups: null }), false)
    assert.equal(present({ org: {} }), false)
    assert.equal(present({ groups: [] }), true)
    assert.equal(present({ org: { teams: 'a' } }), true)
  })
})

describe('claim paths', () => {
  it('keeps ":" and "/" inside a segment', () => {
    assert.deepEqual(parseClaimPath('urn:zitadel:iam:org:project:roles').segments, [
      'urn:zitadel:iam:org:project:roles',
    ])
    assert.deepEqual(parseClaimPath('a/b.c').segments, ['a/b', 'c'])
  })

  it('reads a quoted segment with dots as one key', () => {
    assert.deepEqual(parseClaimPath('resource_access."meet.web".roles').segments, [
      'resource_access',
      'meet.web',
      'roles',
    ])
  })

  for (const bad of ['', 'a..b', '.a', 'a.', 'a."b', 'a."b"c']) {
    it(`refuses the malformed path ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseClaimPath(bad), { name: 'RuleSyntaxError' })
    })
  }

  it('follows only own properties, never the prototype', () => {
    assert.equal(readClaim({ a: {} }, parseClaimPath('a.constructor'), ''), undefined)
    assert.equal(readClaim({}, parseClaimPath('__proto__'), ''), undefined)
  })

  it('replaces {client_id} with the client ID when reading', () => {
    const claims = { resource_access: { 'meet.app': { roles: ['host'] } } }
    assert.deepEqual(
      readClaim(claims, parseClaimPath('resource_access.{client_id}.roles'), 'meet.app'),
      ['host'],
    )
  })
})

describe('toNameList', () => {
  const table: Array<[string, unknown, string[]]> = [
    ['an array', ['a', 'b'], ['a', 'b']],
    ['one string', 'a', ['a']],
    ['a comma string', 'a, b c', ['a', 'b c']],
    ['a string with spaces as one name', ' Domain  Admins ', ['Domain  Admins']],
    ['a number', 7, ['7']],
    ['null', null, []],
    ['a boolean', true, []],
    ['an object map', { a: {}, b: 'x', c: false, d: 'false' }, ['a', 'b']],
  ]

  for (const [shape, value, names] of table) {
    it(`reads ${shape} as ${JSON.stringify(names)}`, () => {
      assert.deepEqual(toNameList(value), names)
    })
  }
})
