import type { ClaimPath } from './types.js'

/** A rule or claim path the admin wrote that cannot be used; the message names the fix. */
export class RuleSyntaxError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RuleSyntaxError'
  }
}

/** Replaced by the OIDC client ID when a claim is read, e.g. `resource_access.{client_id}.roles`. */
export const CLIENT_ID_SEGMENT = '{client_id}'

/**
 * Parses a dotted claim path. A segment may hold `:` and `/` (`urn:zitadel:iam:org:project:roles`);
 * a segment in double quotes may hold dots (`resource_access."meet.web".roles`).
 */
export function parseClaimPath(text: string): ClaimPath {
  const trimmed = text.trim()
  if (trimmed === '')
    throw new RuleSyntaxError('claim path is empty; write a claim name such as "email"')

  const segments: string[] = []
  let rest = trimmed
  while (true) {
    let segment: string
    if (rest.startsWith('"')) {
      const close = rest.indexOf('"', 1)
      if (close < 0) throw new RuleSyntaxError(`claim path "${trimmed}" has an unclosed quote`)
      segment = rest.slice(1, close)
      rest = rest.slice(close + 1)
      if (rest !== '' && !rest.startsWith('.')) {
        throw new RuleSyntaxError(`claim path "${trimmed}" needs a "." after a quoted segment`)
      }
    } else {
      const dot = rest.indexOf('.')
      segment = dot < 0 ? rest : rest.slice(0, dot)
      rest = dot < 0 ? '' : rest.slice(dot)
    }
    if (segment.trim() === '') {
      throw new RuleSyntaxError(`claim path "${trimmed}" has an empty segment; check the dots`)
    }

    segments.push(segment)
    if (rest === '') return { text: trimmed, segments }
    rest = rest.slice(1)
  }
}

/**
 * Reads a claim. The whole path is first tried as one key, so namespaced claims such as
 * `https://meet.example.com/roles` work unquoted; only own properties are followed.
 */
export function readClaim(
  claims: Readonly<Record<string, unknown>>,
  path: ClaimPath,
  clientId: string,
): unknown {
  if (Object.hasOwn(claims, path.text)) return claims[path.text]

  let value: unknown = claims
  for (const raw of path.segments) {
    const segment = raw === CLIENT_ID_SEGMENT ? clientId : raw
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
    if (!Object.hasOwn(value, segment)) return undefined
    value = (value as Record<string, unknown>)[segment]
  }
  return value
}

/** A claim as one text: trimmed strings and numbers; anything else, or empty, is absent. */
export function toText(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value !== 'string') return undefined
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

/** `true`/`"true"` and `false`/`"false"` (any case); anything else is absent, never truthy. */
export function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value
  if (typeof value !== 'string') return undefined
  const lower = value.trim().toLowerCase()
  return lower === 'true' ? true : lower === 'false' ? false : undefined
}

/**
 * A group or role claim as a list of names. Accepts an array, one string, a comma-separated
 * string, and an object map whose keys are the names (Zitadel); a key whose value is `false`
 * or `null` is not a member. Numbers become text. A string is never split at spaces: group
 * names have them ("Domain Admins"), and a part of a name must not match a rule.
 */
export function toNameList(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => toText(item) ?? [])
  if (typeof value === 'number') return toText(value) === undefined ? [] : [String(value)]

  if (typeof value === 'string') {
    return value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
  }

  if (value !== null && typeof value === 'object') {
    return Object.entries(value)
      .filter(([, member]) => member !== null && toBoolean(member) !== false)
      .map(([key]) => key.trim())
      .filter((key) => key !== '')
  }
  return []
}
