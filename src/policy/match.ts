import { readClaim, toBoolean, toText } from './claims.js'
import type { Identity } from './identity.js'
import type { ClaimMapping, Matcher } from './types.js'

/** The first condition a user meets, and why others could not be checked. */
export interface MatchOutcome {
  matched?: Matcher
  /** A group condition was skipped: the provider did not send the group list (overage). */
  groupsUnknown: boolean
  /** A group condition was checked against an identity without any group claim. */
  groupsClaimMissing: boolean
  /** An email or domain condition would have matched an address marked `email_verified: false`. */
  emailUnverified: boolean
}

interface MatchSubject {
  identity: Identity
  mapping: ClaimMapping
  moderator: boolean
}

/** Finds the first of `matchers` the user meets; a group condition never matches unknown groups. */
export function findMatch(matchers: readonly Matcher[], subject: MatchSubject): MatchOutcome {
  const outcome: MatchOutcome = {
    groupsUnknown: false,
    groupsClaimMissing: false,
    emailUnverified: false,
  }

  for (const matcher of matchers) {
    if (matcher.kind === 'group' && subject.identity.groupsUnknown) {
      outcome.groupsUnknown = true
      continue
    }
    if (matcher.kind === 'group' && !subject.identity.groupsClaimPresent) {
      outcome.groupsClaimMissing = true
    }
    const result = isMatch(matcher, subject)
    if (result === 'unverified') outcome.emailUnverified = true
    if (result === true) return { ...outcome, matched: matcher }
  }
  return outcome
}

function isMatch(matcher: Matcher, subject: MatchSubject): boolean | 'unverified' {
  const { identity, mapping } = subject

  switch (matcher.kind) {
    case 'everyone':
      return true
    case 'moderator':
      return subject.moderator
    case 'group':
      return identity.groups.some((group) => isSameGroup(group, matcher.value, mapping.groupPaths))
    case 'role':
      return identity.roles.includes(matcher.value)
    case 'email':
      return checkVerified(identity, identity.email?.toLowerCase() === matcher.value)
    case 'domain':
      return isDomainMatch(matcher.value, subject)
    case 'claim':
      return isClaimMatch(readClaim(identity.claims, matcher.path, ''), matcher.value)
  }
}

// Keycloak sends `/staff/mods` when "full group path" is on: a rule may name the whole path
// or only the group (`mods`). The short form also matches `/students/mods`; docs say so.
function isSameGroup(group: string, rule: string, groupPaths: boolean): boolean {
  if (group === rule) return true
  if (!groupPaths || !group.startsWith('/') || rule.startsWith('/')) return false
  return group.slice(group.lastIndexOf('/') + 1) === rule
}

function isDomainMatch(rule: string, { identity, mapping }: MatchSubject): boolean | 'unverified' {
  // A domain claim such as Google's `hd` is asserted by the provider itself; no email check.
  if (mapping.emailDomain) {
    const domain = toText(readClaim(identity.claims, mapping.emailDomain, ''))?.toLowerCase()
    return domain !== undefined && isDomainEqual(domain, rule)
  }

  const email = identity.email?.toLowerCase()
  const domain = email?.slice(email.lastIndexOf('@') + 1)
  return checkVerified(identity, domain !== undefined && isDomainEqual(domain, rule))
}

function isDomainEqual(domain: string, rule: string): boolean {
  return rule.startsWith('*.') ? domain.endsWith(rule.slice(1)) : domain === rule
}

// An address the provider marks unverified is shown in the meeting but never grants rights.
function checkVerified(identity: Identity, matches: boolean): boolean | 'unverified' {
  if (!matches) return false
  return identity.emailVerified === false ? 'unverified' : true
}

// `true`/`false` in a rule compare as booleans, so `moderator: "false"` never meets
// `claim:moderator=true`; anything else compares as exact text. Arrays match on any item.
function isClaimMatch(value: unknown, rule: string): boolean {
  if (Array.isArray(value)) return value.some((item) => isClaimMatch(item, rule))

  const ruleBoolean = toBoolean(rule)
  if (ruleBoolean !== undefined) return toBoolean(value) === ruleBoolean
  return toText(value) === rule
}
