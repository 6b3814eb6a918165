/** The claim presets: where each kind of provider puts ids, names, groups and roles. */
export const presetNames = [
  'generic',
  'keycloak',
  'entra',
  'google',
  'authentik',
  'zitadel',
] as const

export type PresetName = (typeof presetNames)[number]

/** A parsed claim path: `realm_access.roles` → `['realm_access', 'roles']`. */
export interface ClaimPath {
  /** As the admin wrote it; also tried as one whole key first. */
  text: string
  segments: readonly string[]
}

/** Where the identity fields come from, after the preset and the `CLAIM_*` overrides. */
export interface ClaimMapping {
  preset: PresetName
  userId: ClaimPath
  /** Tried before the standard fallback chain for the display name. */
  name?: ClaimPath
  email: ClaimPath
  /** Source of the domain for domain rules; unset: the domain part of the email. */
  emailDomain?: ClaimPath
  avatar: ClaimPath
  groups: readonly ClaimPath[]
  roles: readonly ClaimPath[]
  /** Keycloak sends group paths (`/staff/mods`): a rule also matches the last segment. */
  groupPaths: boolean
  /** Weakens privacy: derive an avatar URL from the email, telling Gravatar who joins. */
  gravatar: boolean
}

/** One condition of a rule list, in the syntax `group:staff`, `domain:*.example.com`, ... */
export type Matcher =
  | { kind: 'group'; value: string }
  | { kind: 'role'; value: string }
  | { kind: 'email'; value: string }
  | { kind: 'domain'; value: string }
  | { kind: 'claim'; path: ClaimPath; value: string }
  | { kind: 'everyone' }
  | { kind: 'moderator' }

export interface RoomRule {
  /** The pattern as written (lower-cased), for reasons and logs. */
  pattern: string
  /** Compiled glob; matched against the room, or `tenant/room` when the pattern has a `/`. */
  regex: RegExp
  hosts: readonly Matcher[]
  /** Who moderates in matching rooms; unset: the global moderator rules decide. */
  moderators?: readonly Matcher[]
}

export interface FeatureRule {
  feature: string
  grantedTo: readonly Matcher[]
}

/** Who gets `lobby_bypass` / `security_bypass` in `context.user`. */
export type BypassScope = 'false' | 'moderators' | 'everyone'

export interface PolicyConfig {
  claims: ClaimMapping
  /** Empty: every signed-in user may host. */
  allow: readonly Matcher[]
  /** Empty: every allowed user moderates (unless a room rule names moderators). */
  moderators: readonly Matcher[]
  rooms: readonly RoomRule[]
  /** Empty: the token carries no `context.features`. */
  features: readonly FeatureRule[]
  lobbyBypass: BypassScope
  securityBypass: BypassScope
}
