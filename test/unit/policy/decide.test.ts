import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { decideAccess } from '../../../src/policy/decide.js'
import { buildIdentity } from '../../../src/policy/identity.js'
import { buildTestPolicy } from './support.js'

const context = { issuer: 'https://idp.example', clientId: 'jitsi' }

function decide(
  env: Record<string, string>,
  claims: Record<string, unknown>,
  room: { roomSafe: string; tenant?: string } = { roomSafe: 'weekly' },
) {
  const policy = buildTestPolicy(env)
  return decideAccess(buildIdentity({ sub: 'u1', ...claims }, policy.claims, context), room, policy)
}

describe('room rules', () => {
  const env = {
    ROOM_RULES: [
      'board = group:board | moderators: group:chairs',
      'exam-* = role:teacher',
      'team-?? = group:team',
      'acme/* = domain:acme.example',
      '/lobby = everyone',
      '* = group:staff',
    ].join(';'),
  }
  const table: Array<
    [string, Record<string, unknown>, { roomSafe: string; tenant?: string }, boolean, boolean]
  > = [
    ['admits a member to an exact room', { groups: ['board'] }, { roomSafe: 'board' }, true, false],
    [
      'admits a room moderator who is not in the host list',
      { groups: ['chairs'] },
      { roomSafe: 'board' },
      true,
      true,
    ],
    [
      'refuses a non-member at an exact room',
      { groups: ['staff'] },
      { roomSafe: 'board' },
      false,
      false,
    ],
    ['matches a prefix pattern', { roles: ['teacher'] }, { roomSafe: 'exam-math' }, true, true],
    [
      'matches "?" with exactly one character',
      { groups: ['team'] },
      { roomSafe: 'team-42' },
      true,
      true,
    ],
    [
      'lets a later rule catch what "?" does not match',
      { groups: ['team'] },
      { roomSafe: 'team-420' },
      false,
      false,
    ],
    [
      'matches a tenant pattern against tenant/room, any case of tenant',
      { email: 'a@acme.example' },
      { roomSafe: 'x', tenant: 'ACME' },
      true,
      true,
    ],
    ['matches "/room" only without a tenant', { groups: [] }, { roomSafe: 'lobby' }, true, true],
    [
      'does not match "/room" inside a tenant',
      { groups: [] },
      { roomSafe: 'lobby', tenant: 'other' },
      false,
      false,
    ],
    [
      'applies a pattern without "/" to rooms in any tenant',
      { groups: ['board'] },
      { roomSafe: 'board', tenant: 'other' },
      true,
      false,
    ],
  ]

  for (const [behaviour, claims, room, allowed, moderator] of table) {
    it(behaviour, () => {
      const decision = decide(env, claims, room)
      assert.deepEqual(
        [decision.allowed, decision.moderator],
        [allowed, moderator],
        decision.reason,
      )
    })
  }

  it('uses the first matching rule, not the most specific', () => {
    const decision = decide(
      { ROOM_RULES: 'team-* = group:a; team-x = group:b' },
      { groups: ['b'] },
      { roomSafe: 'team-x' },
    )

    assert.equal(decision.allowed, false)
    assert.match(decision.reason, /room rule "team-\*" did not match/)
  })

  it('narrows the global rules and never widens them', () => {
    const decision = decide(
      { ALLOWED_EMAIL_DOMAINS: 'example.org', ROOM_RULES: 'open = everyone' },
      { email: 'x@other.example' },
      { roomSafe: 'open' },
    )

    assert.equal(decision.allowed, false)
  })

  it('keeps global moderators moderating in a room that names its own moderators', () => {
    const env2 = {
      MODERATOR_GROUPS: 'admins',
      ROOM_RULES: 'board = everyone | moderators: group:chairs',
    }

    assert.equal(decide(env2, { groups: ['admins'] }, { roomSafe: 'board' }).moderator, true)
    assert.equal(decide(env2, { groups: ['members'] }, { roomSafe: 'board' }).moderator, false)
  })

  it('names the room rule in the reason of an allowed decision', () => {
    assert.match(decide(env, { groups: ['staff'] }, { roomSafe: 'daily' }).reason, /room rule "\*"/)
  })
})

describe('access and moderator rules', () => {
  it('admits a moderator-rule match without listing it in the access rules', () => {
    const decision = decide(
      { ALLOWED_GROUPS: 'students', MODERATOR_GROUPS: 'teachers' },
      { groups: ['teachers'] },
    )

    assert.deepEqual([decision.allowed, decision.moderator], [true, true])
  })

  it('gives a refused user no rights at all', () => {
    const decision = decide(
      { ALLOWED_GROUPS: 'staff', LOBBY_BYPASS: 'everyone', FEATURES: 'recording = everyone' },
      { groups: ['guests'] },
    )

    assert.deepEqual(decision, {
      allowed: false,
      reason: 'refused: no access rule matched',
      moderator: false,
      lobbyBypass: false,
      securityBypass: false,
    })
  })

  it('never writes an email address into the reason', () => {
    const allowed = decide({ ALLOWED_EMAILS: 'ana@example.org' }, { email: 'ana@example.org' })
    const refused = decide({ ALLOWED_EMAILS: 'ana@example.org' }, { email: 'bob@example.org' })

    assert.equal(allowed.allowed, true)
    assert.doesNotMatch(allowed.reason + refused.reason, /@/)
  })

  it('compares claim rules as exact text', () => {
    assert.equal(decide({ ALLOWED_CLAIMS: 'org=Acme' }, { org: 'Acme' }).allowed, true)
    assert.equal(decide({ ALLOWED_CLAIMS: 'org=Acme' }, { org: 'acme' }).allowed, false)
    assert.equal(decide({ ALLOWED_CLAIMS: 'level=3' }, { level: 3 }).allowed, true)
    assert.equal(
      decide({ ALLOWED_CLAIMS: 'org.tags=b' }, { org: { tags: ['a', 'b'] } }).allowed,
      true,
    )
  })
})

describe('features', () => {
  it('emits no features when no feature rule exists', () => {
    assert.equal(Object.hasOwn(decide({}, {}), 'features'), false)
  })

  it('lists every configured feature, granted or not', () => {
    const env = {
      FEATURES: 'recording = group:staff; livestreaming = role:press; transcription = everyone',
    }

    assert.deepEqual(decide(env, { groups: ['staff'] }).features, {
      recording: true,
      livestreaming: false,
      transcription: true,
    })
  })

  it('grants a "moderator" feature only to moderators of the room', () => {
    const env = { MODERATOR_GROUPS: 'mods', FEATURES: 'outbound-call = moderator' }

    assert.deepEqual(decide(env, { groups: ['mods'] }).features, { 'outbound-call': true })
    assert.deepEqual(decide(env, { groups: [] }).features, { 'outbound-call': false })
  })
})

describe('lobby and security bypass', () => {
  const table: Array<[string, string, boolean]> = [
    ['false', 'mods', false],
    ['moderators', 'mods', true],
    ['moderators', 'members', false],
    ['everyone', 'members', true],
  ]

  for (const [scope, group, expected] of table) {
    it(`${scope === 'false' ? 'grants nobody' : `grants ${scope}`} a bypass (${group}: ${expected})`, () => {
      const env = { MODERATOR_GROUPS: 'mods', LOBBY_BYPASS: scope, SECURITY_BYPASS: scope }
      const decision = decide(env, { groups: [group] })

      assert.deepEqual([decision.lobbyBypass, decision.securityBypass], [expected, expected])
    })
  }
})

describe('a provider that sends no groups claim', () => {
  it('says in the moderator reason that no groups claim arrived', () => {
    const decision = decide({ MODERATOR_GROUPS: 'moderators' }, {})

    assert.equal(decision.moderator, false)
    assert.equal(
      decision.reason,
      'allowed by default (no access rules); moderator no: no moderator rule matched (no groups claim in the ID token or userinfo, so group rules cannot match; check OIDC_SCOPES and the provider mapper)',
    )
  })

  it('says in the refusal reason that no groups claim arrived', () => {
    const decision = decide({ ALLOWED_GROUPS: 'staff' }, { groups: null })

    assert.equal(decision.allowed, false)
    assert.equal(
      decision.reason,
      'refused: no access rule matched (no groups claim in the ID token or userinfo, so group rules cannot match; check OIDC_SCOPES and the provider mapper)',
    )
  })

  it('treats an empty group list as a claim: the user is in no group', () => {
    const decision = decide({ MODERATOR_GROUPS: 'moderators' }, { groups: [] })

    assert.equal(
      decision.reason,
      'allowed by default (no access rules); moderator no: no moderator rule matched',
    )
  })

  it('adds no note when another moderator condition matched', () => {
    const decision = decide(
      { MODERATOR_ROLES: 'host', MODERATOR_GROUPS: 'moderators' },
      { roles: ['host'] },
    )

    assert.equal(decision.reason, 'allowed by role "host"; moderator by role "host"')
  })
})
