import { parseClaimPath, RuleSyntaxError } from '../../policy/claims.js'
import { buildClaimMapping, type ClaimOverrides } from '../../policy/presets.js'
import { buildPolicyWarnings } from '../../policy/warnings.js'
import {
  parseFeatureRule,
  parseRoomRule,
  parseTypedMatcher,
  splitRuleList,
  type TypedMatcherKind,
} from '../../policy/rules.js'
import {
  presetNames,
  type BypassScope,
  type ClaimPath,
  type Matcher,
  type PolicyConfig,
  type PresetName,
} from '../../policy/types.js'
import type { SettingReader } from '../index.js'
import type { ConfigProblems } from '../load.js'
import { defineSettings } from '../schema.js'

export type { PolicyConfig } from '../../policy/types.js'

const bypassScopes = ['false', 'moderators', 'everyone'] as const

function claimPathSetting(env: string, key: string, defaultText: string, description: string) {
  return {
    env,
    ini: ['claims', key],
    type: 'string',
    group: 'claims',
    defaultText,
    description,
  } as const
}

function ruleSetting(env: string, key: string, description: string) {
  return { env, ini: ['policy', key], type: 'string', group: 'policy', description } as const
}

/** Where identity fields come from, and who may host and moderate (docs/policy.md). */
export const policySettings = defineSettings([
  {
    env: 'CLAIM_PRESET',
    ini: ['claims', 'preset'],
    type: 'enum',
    group: 'claims',
    values: presetNames,
    default: 'generic',
    description:
      'Where the provider puts ids, groups and roles: generic, keycloak, entra, google, authentik or zitadel.',
  },
  claimPathSetting(
    'CLAIM_USER_ID',
    'user_id',
    'from the preset (`sub`; entra: `oid`)',
    'Claim path of the stable user id put in `context.user.id`; `sub` when the claim is missing.',
  ),
  claimPathSetting(
    'CLAIM_NAME',
    'name',
    '`name`, then `displayName`, `given_name family_name`, `preferred_username`, the email local part',
    'Claim path of the display name, tried before the standard fallbacks.',
  ),
  claimPathSetting(
    'CLAIM_EMAIL',
    'email',
    '`email`',
    'Claim path of the email address; an unverified one is shown but never matches a rule.',
  ),
  claimPathSetting(
    'CLAIM_EMAIL_DOMAIN',
    'email_domain',
    'the domain of the email (google: `hd`)',
    'Claim path of the domain that domain rules compare, when the provider asserts one.',
  ),
  claimPathSetting(
    'CLAIM_AVATAR',
    'avatar',
    '`picture`',
    'Claim path of the avatar URL; used only when it is an https URL.',
  ),
  claimPathSetting(
    'CLAIM_GROUPS',
    'groups',
    'from the preset (`groups`)',
    'Comma-separated claim paths whose values are group names.',
  ),
  claimPathSetting(
    'CLAIM_ROLES',
    'roles',
    'from the preset (`roles`; keycloak: realm and client roles)',
    'Comma-separated claim paths whose values are role names; `{client_id}` stands for OIDC_CLIENT_ID.',
  ),
  {
    env: 'AVATAR_GRAVATAR',
    ini: ['claims', 'avatar_gravatar'],
    type: 'boolean',
    group: 'claims',
    default: 'false',
    description:
      'Weakens privacy: without a picture claim, use a Gravatar URL, which tells gravatar.com (a hash of) who joins.',
  },
  ruleSetting(
    'ALLOWED_GROUPS',
    'allowed_groups',
    'Comma-separated groups whose members may host. No ALLOWED_* rule: every signed-in user may host.',
  ),
  ruleSetting('ALLOWED_ROLES', 'allowed_roles', 'Comma-separated roles whose holders may host.'),
  ruleSetting(
    'ALLOWED_EMAIL_DOMAINS',
    'allowed_email_domains',
    'Comma-separated email domains that may host; `*.example.com` for subdomains.',
  ),
  ruleSetting('ALLOWED_EMAILS', 'allowed_emails', 'Comma-separated email addresses that may host.'),
  ruleSetting(
    'ALLOWED_CLAIMS',
    'allowed_claims',
    'Comma-separated `claim.path=value` conditions that let a user host.',
  ),
  ruleSetting(
    'MODERATOR_GROUPS',
    'moderator_groups',
    'Comma-separated groups whose members moderate. No MODERATOR_* rule: every allowed user moderates.',
  ),
  ruleSetting(
    'MODERATOR_ROLES',
    'moderator_roles',
    'Comma-separated roles whose holders moderate.',
  ),
  ruleSetting(
    'MODERATOR_EMAIL_DOMAINS',
    'moderator_email_domains',
    'Comma-separated email domains whose users moderate.',
  ),
  ruleSetting(
    'MODERATOR_EMAILS',
    'moderator_emails',
    'Comma-separated email addresses that moderate.',
  ),
  ruleSetting(
    'MODERATOR_CLAIMS',
    'moderator_claims',
    'Comma-separated `claim.path=value` conditions that make a user moderator.',
  ),
  {
    env: 'ROOM_RULES',
    ini: ['rooms', '*'],
    type: 'list',
    group: 'policy',
    description:
      'Per-room rules `pattern = conditions [| moderators: conditions]`, first match wins; `;` between rules in the environment.',
  },
  {
    env: 'FEATURES',
    ini: ['features', '*'],
    type: 'list',
    group: 'policy',
    description:
      'Feature grants `feature = conditions` (e.g. `recording = group:staff`); when set, the token lists every feature and Jitsi turns off the rest.',
  },
  {
    env: 'LOBBY_BYPASS',
    ini: ['policy', 'lobby_bypass'],
    type: 'enum',
    group: 'policy',
    values: bypassScopes,
    default: 'false',
    description:
      'Who gets `context.user.lobby_bypass: true`: false, moderators, or everyone allowed.',
  },
  {
    env: 'SECURITY_BYPASS',
    ini: ['policy', 'security_bypass'],
    type: 'enum',
    group: 'policy',
    values: bypassScopes,
    default: 'false',
    description:
      'Weakens security: who gets `context.user.security_bypass: true` (skips room passwords and the lobby): false, moderators, or everyone allowed.',
  },
])

const allowSettings: Array<[string, TypedMatcherKind]> = [
  ['ALLOWED_GROUPS', 'group'],
  ['ALLOWED_ROLES', 'role'],
  ['ALLOWED_EMAIL_DOMAINS', 'domain'],
  ['ALLOWED_EMAILS', 'email'],
  ['ALLOWED_CLAIMS', 'claim'],
]
const moderatorSettings = allowSettings.map(
  ([env, kind]) => [env.replace('ALLOWED_', 'MODERATOR_'), kind] as [string, TypedMatcherKind],
)

/**
 * Builds the claim mapping and the rules. Every rule that does not parse is one problem naming
 * its setting; warnings say what Jitsi needs so that the rules take effect.
 */
export function buildPolicyConfig(
  read: SettingReader,
  problems: ConfigProblems,
  warnings: string[],
): PolicyConfig {
  const attempt = <T>(env: string, parse: () => T): T | undefined => {
    try {
      return parse()
    } catch (error) {
      if (!(error instanceof RuleSyntaxError)) throw error
      problems.add(read.origin(env), error.message)
      return undefined
    }
  }
  const readMatchers = (settings: Array<[string, TypedMatcherKind]>): Matcher[] =>
    settings.flatMap(([env, kind]) =>
      splitRuleList(read.string(env) ?? '').flatMap(
        (item) => attempt(env, () => parseTypedMatcher(kind, item)) ?? [],
      ),
    )

  const preset = (read.string('CLAIM_PRESET') ?? 'generic') as PresetName
  const claims = buildClaimMapping(
    preset,
    readClaimOverrides(read, attempt),
    read.boolean('AVATAR_GRAVATAR'),
  )
  const allow = readMatchers(allowSettings)
  const moderators = readMatchers(moderatorSettings)
  const rooms = read
    .list('ROOM_RULES')
    .flatMap((item) => attempt('ROOM_RULES', () => parseRoomRule(item)) ?? [])
  const features = read
    .list('FEATURES')
    .flatMap((item) => attempt('FEATURES', () => parseFeatureRule(item)) ?? [])

  const featureNames = features.map((rule) => rule.feature)
  const repeated = featureNames.filter((name, index) => featureNames.indexOf(name) !== index)
  for (const name of new Set(repeated)) {
    problems.add(
      read.origin('FEATURES'),
      `feature "${name}" is listed twice; keep one rule per feature`,
    )
  }

  const policy: PolicyConfig = {
    claims,
    allow,
    moderators,
    rooms,
    features,
    lobbyBypass: (read.string('LOBBY_BYPASS') ?? 'false') as BypassScope,
    securityBypass: (read.string('SECURITY_BYPASS') ?? 'false') as BypassScope,
  }
  // OIDC_SCOPES has a default, so it is only missing when its own value was refused.
  const scopes = read.has('OIDC_SCOPES') ? read.list('OIDC_SCOPES') : undefined
  const scopesName = read.origin('OIDC_SCOPES')
  warnings.push(...buildPolicyWarnings(policy, scopes === undefined ? {} : { scopes, scopesName }))
  return policy
}

function readClaimOverrides(
  read: SettingReader,
  attempt: <T>(env: string, parse: () => T) => T | undefined,
): ClaimOverrides {
  const one = (env: string): ClaimPath | undefined => {
    const text = read.string(env)
    return text === undefined ? undefined : attempt(env, () => parseClaimPath(text))
  }
  const many = (env: string): ClaimPath[] | undefined => {
    const text = read.string(env)
    if (text === undefined) return undefined
    const items = splitRuleList(text)
    if (items.length === 0) attempt(env, () => parseClaimPath(''))
    return items.flatMap((item) => attempt(env, () => parseClaimPath(item)) ?? [])
  }

  const overrides: ClaimOverrides = {}
  const entries = {
    userId: one('CLAIM_USER_ID'),
    name: one('CLAIM_NAME'),
    email: one('CLAIM_EMAIL'),
    emailDomain: one('CLAIM_EMAIL_DOMAIN'),
    avatar: one('CLAIM_AVATAR'),
    groups: many('CLAIM_GROUPS'),
    roles: many('CLAIM_ROLES'),
  }
  for (const [key, value] of Object.entries(entries)) {
    if (value !== undefined) Object.assign(overrides, { [key]: value })
  }
  return overrides
}
