import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { loadPolicy } from './support.js'

describe('policy settings', () => {
  it('defaults to the generic preset, no rules and no bypass', () => {
    const { policy, problems, warnings } = loadPolicy({})

    assert.deepEqual(problems, [])
    assert.deepEqual(warnings, [])
    assert.equal(policy.claims.preset, 'generic')
    assert.deepEqual(policy.claims.userId.segments, ['sub'])
    assert.equal(policy.claims.gravatar, false)
    assert.deepEqual(
      [policy.allow, policy.moderators, policy.rooms, policy.features],
      [[], [], [], []],
    )
    assert.deepEqual([policy.lobbyBypass, policy.securityBypass], ['false', 'false'])
  })

  it('parses every kind of rule from the environment', () => {
    const { policy, problems } = loadPolicy({
      CLAIM_PRESET: 'Keycloak',
      CLAIM_GROUPS: 'groups, teams',
      ALLOWED_GROUPS: 'staff, Team Leads',
      ALLOWED_EMAIL_DOMAINS: 'Example.org,*.example.net',
      ALLOWED_EMAILS: 'Ana@Example.org',
      ALLOWED_CLAIMS: 'tid=abc, urn:zitadel:iam:org:id=42',
      MODERATOR_ROLES: 'teacher',
      ROOM_RULES: 'board-* = group:board | moderators: group:chairs\nacme/* = everyone',
      FEATURES: 'recording = group:staff, moderator;livestreaming=role:press',
      LOBBY_BYPASS: 'moderators',
    })

    assert.deepEqual(problems, [])
    assert.equal(policy.claims.preset, 'keycloak')
    assert.deepEqual(
      policy.claims.groups.map((path) => path.text),
      ['groups', 'teams'],
    )
    assert.deepEqual(
      policy.allow.map((matcher) => ('value' in matcher ? matcher.value : matcher.kind)),
      ['staff', 'Team Leads', 'example.org', '*.example.net', 'ana@example.org', 'abc', '42'],
    )
    assert.deepEqual(policy.moderators, [{ kind: 'role', value: 'teacher' }])
    assert.deepEqual(
      policy.rooms.map((rule) => [rule.pattern, rule.hosts.length, rule.moderators?.length]),
      [
        ['board-*', 1, 1],
        ['acme/*', 1, undefined],
      ],
    )
    assert.deepEqual(
      policy.features.map((rule) => [rule.feature, rule.grantedTo.map((m) => m.kind)]),
      [
        ['recording', ['group', 'moderator']],
        ['livestreaming', ['role']],
      ],
    )
    assert.equal(policy.lobbyBypass, 'moderators')
  })

  it('reads the same rules from an INI file, with [rooms] and [features] as free-form sections', () => {
    const { policy, problems } = loadPolicy(
      {},
      [
        '[claims]',
        'preset = entra',
        'roles = roles, "https://meet.example.org/roles"',
        '[policy]',
        'allowed_email_domains = example.org',
        'moderator_groups = 6f0e-teachers',
        'security_bypass = moderators',
        '[rooms]',
        'exam-* = role:teacher | moderators: role:teacher',
        '[features]',
        'recording = moderator   # only moderators record',
      ].join('\n'),
    )

    assert.deepEqual(problems, [])
    assert.equal(policy.claims.preset, 'entra')
    assert.deepEqual(
      policy.claims.roles.map((path) => path.segments),
      [['roles'], ['https://meet.example.org/roles']],
    )
    assert.deepEqual(
      policy.rooms.map((rule) => rule.pattern),
      ['exam-*'],
    )
    assert.deepEqual(policy.features, [
      { feature: 'recording', grantedTo: [{ kind: 'moderator' }] },
    ])
    assert.equal(policy.securityBypass, 'moderators')
  })

  it('reports every bad rule at once, each naming its setting', () => {
    const { problems } = loadPolicy({
      CLAIM_PRESET: 'okta',
      CLAIM_ROLES: 'realm_access..roles',
      CLAIM_USER_ID: '""',
      ALLOWED_EMAIL_DOMAINS: '@example.org, example.org',
      ALLOWED_EMAILS: 'not-an-address',
      ALLOWED_CLAIMS: 'tid',
      MODERATOR_CLAIMS: 'resource_access.{client_id}.x=1',
      ROOM_RULES: 'Café = group:a; board = team:b; exam = role:x | chairs; x = moderator',
      FEATURES: 'recording = group:a; Recording = everyone; rec ording = everyone',
      LOBBY_BYPASS: 'true',
    })

    const settings = problems.map((problem) => problem.setting)
    assert.deepEqual(settings.sort(), [
      'ALLOWED_CLAIMS',
      'ALLOWED_EMAILS',
      'ALLOWED_EMAIL_DOMAINS',
      'CLAIM_PRESET',
      'CLAIM_ROLES',
      'CLAIM_USER_ID',
      'FEATURES',
      'FEATURES',
      'LOBBY_BYPASS',
      'MODERATOR_CLAIMS',
      'ROOM_RULES',
      'ROOM_RULES',
      'ROOM_RULES',
      'ROOM_RULES',
    ])
    for (const problem of problems) assert.match(problem.message, /^[^A-Z]/)
  })

  it('names the INI section of a bad free-form rule', () => {
    const { problems } = loadPolicy({}, '[rooms]\nboard = group:\n')

    assert.deepEqual(
      problems.map((problem) => problem.setting),
      ['[rooms]'],
    )
  })

  it('warns that moderator rules need Jicofo and Prosody settings', () => {
    const { warnings } = loadPolicy({
      MODERATOR_GROUPS: 'mods',
      OIDC_SCOPES: 'openid profile email groups',
    })

    assert.equal(warnings.length, 1)
    assert.match(warnings[0]!, /token_affiliation/)
    assert.match(warnings[0]!, /enable-auto-owner = false/)
    assert.match(warnings[0]!, /ENABLE_AUTO_OWNER=0/)
  })

  it('warns about group overage when group rules meet the entra preset', () => {
    const { warnings } = loadPolicy({ CLAIM_PRESET: 'entra', ALLOWED_GROUPS: 'g1' })

    assert.ok(warnings.some((warning) => /overage/.test(warning) && /app roles/.test(warning)))
  })

  const scopeWarning =
    'group rules are set, but OIDC_SCOPES (openid profile email) does not include "groups": many providers (Keycloak with a group mapper on that scope, Authentik, oidc-provider, ...) send the groups claim only for that scope or a mapper, and without it every group rule fails; add "groups" to OIDC_SCOPES or make sure the provider always sends the claim'

  for (const [name, env] of [
    ['a moderator group rule', { MODERATOR_GROUPS: 'moderators' }],
    ['an access group rule', { ALLOWED_GROUPS: 'staff' }],
    ['a room rule naming a group', { ROOM_RULES: 'board = role:x | moderators: group:chairs' }],
    ['a feature rule naming a group', { FEATURES: 'recording = group:rec' }],
  ] as const) {
    it(`warns that OIDC_SCOPES lacks "groups" when ${name} exists`, () => {
      const { warnings } = loadPolicy(env)

      assert.equal(warnings.filter((warning) => warning === scopeWarning).length, 1)
    })
  }

  it('names the scopes setting as the admin wrote it: a legacy name, an INI key', () => {
    const legacy = loadPolicy({ SCOPES: 'openid profile', GROUP: 'staff' })
    assert.ok(
      legacy.warnings.some((warning) =>
        warning.startsWith('group rules are set, but SCOPES (openid profile)'),
      ),
    )
    assert.ok(legacy.warnings.some((warning) => warning.includes('add "groups" to SCOPES')))

    const ini = loadPolicy({ ALLOWED_GROUPS: 'staff' }, '[oauth]\nscope = openid email\n')
    assert.ok(
      ini.warnings.some((warning) =>
        warning.startsWith('group rules are set, but [oauth] scope (openid email)'),
      ),
    )
  })

  it('does not warn about the groups scope when OIDC_SCOPES has it or no rule names a group', () => {
    const withScope = loadPolicy({ MODERATOR_GROUPS: 'moderators', OIDC_SCOPES: 'openid,groups' })
    const withoutGroupRules = loadPolicy({ MODERATOR_ROLES: 'host' })

    assert.ok(!withScope.warnings.some((warning) => warning.includes('OIDC_SCOPES')))
    assert.ok(!withoutGroupRules.warnings.some((warning) => warning.includes('OIDC_SCOPES')))
  })

  it('does not ask Entra or Google for a groups scope they do not have', () => {
    for (const preset of ['entra', 'google']) {
      const { warnings } = loadPolicy({ CLAIM_PRESET: preset, ALLOWED_GROUPS: 'g1' })
      assert.ok(!warnings.some((warning) => warning.includes('OIDC_SCOPES')), preset)
    }
  })

  it('warns which well-known features a FEATURES rule turns off', () => {
    const { warnings } = loadPolicy({ FEATURES: 'recording = moderator' })

    assert.ok(
      warnings.some((warning) => warning.includes('livestreaming, transcription, outbound-call')),
    )
  })

  it('warns about settings that weaken security or privacy', () => {
    const { warnings } = loadPolicy({ SECURITY_BYPASS: 'everyone', AVATAR_GRAVATAR: 'true' })

    assert.equal(warnings.length, 2)
  })
})
