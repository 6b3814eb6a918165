import { CLIENT_ID_SEGMENT, parseClaimPath, RuleSyntaxError } from './claims.js'
import type { FeatureRule, Matcher, RoomRule } from './types.js'

export type TypedMatcherKind = 'group' | 'role' | 'email' | 'domain' | 'claim'

const DOMAIN_SHAPE = /^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/
const EMAIL_SHAPE = /^[^\s@]+@[a-z0-9_-]+(\.[a-z0-9_-]+)*$/
// The backend-safe form holds only what encodeURIComponent leaves, lower-cased (JITSI.md §4).
const ROOM_PATTERN_SHAPE = /^[a-z0-9%._~*?-]*(\/[a-z0-9%._~*?-]+)?$/
const FEATURE_NAME_SHAPE = /^[a-z][a-z0-9_-]*$/
const MATCHER_SYNTAX =
  'write group:NAME, role:NAME, email:ADDRESS, domain:DOMAIN, claim:PATH=VALUE or everyone'

/** Splits a rule list setting into items: commas or new lines separate, spaces stay in names. */
export function splitRuleList(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

/** Parses one item of a typed list such as `ALLOWED_EMAIL_DOMAINS` (`*.example.com`). */
export function parseTypedMatcher(kind: TypedMatcherKind, text: string): Matcher {
  const value = text.trim()
  if (value === '') throw new RuleSyntaxError(`empty ${kind} name`)

  switch (kind) {
    case 'group':
    case 'role':
      return { kind, value }
    case 'email': {
      const email = value.toLowerCase()
      if (!EMAIL_SHAPE.test(email)) {
        throw new RuleSyntaxError(`"${value}" is not an email address such as "ana@example.com"`)
      }
      return { kind, value: email }
    }
    case 'domain': {
      const domain = value.toLowerCase()
      if (domain.startsWith('@')) {
        throw new RuleSyntaxError(`"${value}": write the domain without "@"`)
      }
      if (!DOMAIN_SHAPE.test(domain)) {
        throw new RuleSyntaxError(
          `"${value}" is not a domain; write "example.com", or "*.example.com" for its subdomains`,
        )
      }
      return { kind, value: domain }
    }
    case 'claim':
      return parseClaimMatcher(value)
  }
}

/** Parses `group:staff`, `role:admin`, `email:…`, `domain:…`, `claim:path=value`, `everyone`. */
export function parseMatcher(text: string, options: { allowModerator: boolean }): Matcher {
  const value = text.trim()
  if (value === 'everyone') return { kind: 'everyone' }
  if (value === 'moderator') {
    if (options.allowModerator) return { kind: 'moderator' }
    throw new RuleSyntaxError('"moderator" is a condition for features only')
  }

  const colon = value.indexOf(':')
  const kind = value.slice(0, colon).trim().toLowerCase()
  if (colon < 0 || !['group', 'role', 'email', 'domain', 'claim'].includes(kind)) {
    throw new RuleSyntaxError(`unknown condition "${value}"; ${MATCHER_SYNTAX}`)
  }
  return parseTypedMatcher(kind as TypedMatcherKind, value.slice(colon + 1))
}

/** Parses a comma-separated list of conditions; it must not be empty. */
export function parseMatcherList(text: string, options: { allowModerator: boolean }): Matcher[] {
  const items = splitRuleList(text)
  if (items.length === 0) throw new RuleSyntaxError(`no condition given; ${MATCHER_SYNTAX}`)
  return items.map((item) => parseMatcher(item, options))
}

/**
 * Parses a room rule `pattern = conditions [| moderators: conditions]`. The pattern is a glob
 * (`*`, `?`) over the backend-safe room name, or over `tenant/room` when it has a `/`.
 */
export function parseRoomRule(item: string): RoomRule {
  const [patternText, rest] = splitKeyValue(item, 'a room rule')
  const pattern = patternText.toLowerCase()
  if (!ROOM_PATTERN_SHAPE.test(pattern) || pattern === '') {
    throw new RuleSyntaxError(
      `room pattern "${patternText}" must use the backend-safe room name (lower case, percent-encoded UTF-8 such as "caf%c3%a9"), "*", "?" and at most one "/" after a tenant`,
    )
  }

  const [hostsText, moderatorsText, extra] = rest.split('|')
  if (extra !== undefined) throw new RuleSyntaxError(`room rule "${patternText}" has two "|"`)
  const hosts = parseMatcherList(hostsText!, { allowModerator: false })
  if (moderatorsText === undefined) return { pattern, regex: buildGlobRegex(pattern), hosts }

  const label = /^\s*moderators\s*:/i.exec(moderatorsText)
  if (!label) {
    throw new RuleSyntaxError(
      `room rule "${patternText}": after "|" write "moderators: group:NAME, ..."`,
    )
  }
  const moderators = parseMatcherList(moderatorsText.slice(label[0].length), {
    allowModerator: false,
  })
  return { pattern, regex: buildGlobRegex(pattern), hosts, moderators }
}

/** Parses a feature rule `recording = group:staff, moderator`. */
export function parseFeatureRule(item: string): FeatureRule {
  const [nameText, rest] = splitKeyValue(item, 'a feature rule')
  const feature = nameText.toLowerCase()
  if (!FEATURE_NAME_SHAPE.test(feature)) {
    throw new RuleSyntaxError(`"${nameText}" is not a feature name such as "recording"`)
  }
  return { feature, grantedTo: parseMatcherList(rest, { allowModerator: true }) }
}

/** A matcher as it may appear in a log line: names of groups, roles, domains; no addresses. */
export function describeMatcher(matcher: Matcher): string {
  switch (matcher.kind) {
    case 'group':
    case 'role':
    case 'domain':
      return `${matcher.kind} "${matcher.value}"`
    case 'email':
      return 'an email address rule'
    case 'claim':
      return `claim "${matcher.path.text}"`
    case 'everyone':
    case 'moderator':
      return matcher.kind
  }
}

function parseClaimMatcher(text: string): Matcher {
  const equals = text.indexOf('=')
  const value = equals < 0 ? '' : text.slice(equals + 1).trim()
  if (equals < 0 || value === '') {
    throw new RuleSyntaxError(`claim rule "${text}" needs "path=value", e.g. "tid=0000-1111"`)
  }

  const path = parseClaimPath(text.slice(0, equals))
  if (path.segments.includes(CLIENT_ID_SEGMENT)) {
    throw new RuleSyntaxError(
      `claim rule "${text}": ${CLIENT_ID_SEGMENT} works in CLAIM_* paths only; write the client ID`,
    )
  }
  return { kind: 'claim', path, value }
}

function splitKeyValue(item: string, what: string): [string, string] {
  const equals = item.indexOf('=')
  if (equals <= 0) throw new RuleSyntaxError(`"${item}" is not ${what}; write "name = conditions"`)
  return [item.slice(0, equals).trim(), item.slice(equals + 1)]
}

function buildGlobRegex(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((char) => (char === '*' ? '[^/]*' : char === '?' ? '[^/]' : char === '.' ? '\\.' : char))
    .join('')
  return new RegExp(`^${body}$`)
}
