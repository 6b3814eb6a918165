import type { Identity } from './identity.js'
import { findMatch, type MatchOutcome } from './match.js'
import { describeMatcher } from './rules.js'
import type { BypassScope, Matcher, PolicyConfig, RoomRule } from './types.js'

/** What the signed-in user may do in the requested room. */
export interface Decision {
  allowed: boolean
  /** Which rule allowed or refused, safe for logs (no claim values beyond group/domain names). */
  reason: string
  moderator: boolean
  /** Present only when feature rules are configured: then Jitsi turns off every unlisted one. */
  features?: Readonly<Record<string, boolean>>
  lobbyBypass: boolean
  securityBypass: boolean
}

/**
 * Decides whether the user may host the room and with which rights. Access: the global rules,
 * then the first room rule whose pattern matches. Moderator: the room rule's moderators, else
 * the global moderator rules, else everyone allowed.
 */
export function decideAccess(
  identity: Identity,
  room: { roomSafe: string; tenant?: string },
  policy: PolicyConfig,
): Decision {
  const match = (matchers: readonly Matcher[], moderator = false) =>
    findMatch(matchers, { identity, mapping: policy.claims, moderator })

  const globalModerator = match(policy.moderators)
  const access = match([...policy.allow, ...policy.moderators])
  if (policy.allow.length > 0 && !access.matched) {
    return refuse(`no access rule matched${explain(access)}`)
  }

  const rule = findRoomRule(policy.rooms, room)
  const roomModerator = rule?.moderators ? match(rule.moderators) : undefined
  const roomAccess = rule ? match(rule.hosts) : undefined
  if (rule && !roomAccess?.matched && !roomModerator?.matched) {
    return refuse(`room rule "${rule.pattern}" did not match${explain(roomAccess!, roomModerator)}`)
  }

  const moderator = decideModerator(policy, globalModerator, roomModerator)
  const reasons = [
    `allowed by ${access.matched ? describeMatcher(access.matched) : 'default (no access rules)'}`,
    ...(rule ? [`room rule "${rule.pattern}"`] : []),
    `moderator ${moderator.reason}`,
  ]
  const features = policy.features.map(
    ({ feature, grantedTo }) =>
      [feature, match(grantedTo, moderator.value).matched !== undefined] as const,
  )

  return {
    allowed: true,
    reason: reasons.join('; '),
    moderator: moderator.value,
    ...(features.length > 0 ? { features: Object.freeze(Object.fromEntries(features)) } : {}),
    lobbyBypass: isBypassGranted(policy.lobbyBypass, moderator.value),
    securityBypass: isBypassGranted(policy.securityBypass, moderator.value),
  }
}

/** The first rule whose pattern matches; a pattern with `/` sees `tenant/room`, lower-cased. */
export function findRoomRule(
  rules: readonly RoomRule[],
  room: { roomSafe: string; tenant?: string },
): RoomRule | undefined {
  const name = room.roomSafe.toLowerCase()
  const withTenant = `${(room.tenant ?? '').toLowerCase()}/${name}`
  return rules.find((rule) => rule.regex.test(rule.pattern.includes('/') ? withTenant : name))
}

function decideModerator(
  policy: PolicyConfig,
  global: MatchOutcome,
  room: MatchOutcome | undefined,
): { value: boolean; reason: string } {
  if (room?.matched) return { value: true, reason: `by room ${describeMatcher(room.matched)}` }
  if (global.matched) return { value: true, reason: `by ${describeMatcher(global.matched)}` }
  if (room === undefined && policy.moderators.length === 0) {
    return { value: true, reason: 'by default (no moderator rules)' }
  }
  return { value: false, reason: `no: no moderator rule matched${explain(global, room)}` }
}

function isBypassGranted(scope: BypassScope, moderator: boolean): boolean {
  return scope === 'everyone' || (scope === 'moderators' && moderator)
}

function explain(...outcomes: Array<MatchOutcome | undefined>): string {
  const notes: string[] = []
  if (outcomes.some((outcome) => outcome?.groupsUnknown)) {
    notes.push('groups were not sent (overage), so group rules cannot match')
  } else if (outcomes.some((outcome) => outcome?.groupsClaimMissing)) {
    // Most often the provider sends groups only for a "groups" scope or a mapper (OIDC_SCOPES).
    notes.push(
      'no groups claim in the ID token or userinfo, so group rules cannot match; check OIDC_SCOPES and the provider mapper',
    )
  }
  if (outcomes.some((outcome) => outcome?.emailUnverified)) {
    notes.push('email_verified is false, so email and domain rules do not match')
  }
  return notes.length === 0 ? '' : ` (${notes.join('; ')})`
}

function refuse(reason: string): Decision {
  return {
    allowed: false,
    reason: `refused: ${reason}`,
    moderator: false,
    lobbyBypass: false,
    securityBypass: false,
  }
}
