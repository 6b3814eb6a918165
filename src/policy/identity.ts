import { createHash } from 'node:crypto'

import { AppError } from '../errors.js'
import { readClaim, toBoolean, toNameList, toText } from './claims.js'
import type { ClaimMapping, ClaimPath } from './types.js'

export type { ClaimMapping } from './types.js'

/** The signed-in user as the policy and the token see them. */
export interface Identity {
  issuer: string
  /** The IdP `sub`. */
  subject: string
  /** Stable id for `context.user.id` (default `sub`; entra preset: `oid`). */
  id: string
  /** Display name, trimmed; never invented. */
  name?: string
  email?: string
  emailVerified?: boolean
  /** An https `picture`, or a Gravatar URL when enabled. */
  avatar?: string
  groups: readonly string[]
  /** The provider left the group list out (Entra overage): unknown, never "none". */
  groupsUnknown: boolean
  /**
   * Some group claim path had a value, even an empty list. False when none did: the provider
   * likely needs a scope or a mapper, which the refusal reason then says.
   */
  groupsClaimPresent: boolean
  roles: readonly string[]
  /** Merged raw claims, for `claim:path=value` rules. */
  claims: Readonly<Record<string, unknown>>
}

// These describe the authentication itself, which only the signed ID token may state.
const ID_TOKEN_ONLY = ['iss', 'aud', 'azp', 'nonce', 'exp', 'iat', 'nbf', 'auth_time', 'acr', 'amr']

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/
const MAX_EMAIL_LENGTH = 254
const MAX_AVATAR_URL_LENGTH = 2048
// OIDC Core §2 caps `sub` at 255 ASCII characters; the user id in the token keeps that bound.
const MAX_ID_LENGTH = 255
// Longer is no display name; the token (4096 bytes at most) has room for this one.
const MAX_NAME_LENGTH = 256
// Prosody copies context.user into XMPP presence, and XML has no place for control characters
// or unpaired surrogates (with the `u` flag a lone surrogate matches a range of them); the
// bidirectional overrides would let a name display as another.
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/gu
const HAS_UNPRINTABLE = new RegExp(UNPRINTABLE.source, 'u')

/**
 * Merges userinfo into the ID token claims: userinfo wins, except for the claims that describe
 * the authentication. Throws ERR_OIDC_USERINFO_INVALID when `sub` differs or is missing
 * (OIDC Core §5.3.2: the userinfo `sub` must equal the ID token's).
 */
export function mergeClaims(
  idTokenClaims: Readonly<Record<string, unknown>>,
  userinfo: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const expected = idTokenClaims.sub
  if (typeof userinfo.sub !== 'string' || userinfo.sub === '') {
    throw new AppError('ERR_OIDC_USERINFO_INVALID', { detail: 'userinfo has no "sub"' })
  }
  if (expected !== undefined && userinfo.sub !== expected) {
    throw new AppError('ERR_OIDC_USERINFO_INVALID', {
      detail: 'userinfo "sub" differs from the ID token "sub"',
    })
  }

  const merged: Record<string, unknown> = { ...idTokenClaims, ...userinfo }
  for (const name of ID_TOKEN_ONLY) {
    if (Object.hasOwn(idTokenClaims, name)) merged[name] = idTokenClaims[name]
    else delete merged[name]
  }
  return merged
}

/**
 * Builds the identity from validated, merged claims. Throws ERR_OIDC_ID_TOKEN_INVALID when there
 * is no `sub`; every other field is optional and left out rather than guessed.
 */
export function buildIdentity(
  claims: Record<string, unknown>,
  mapping: ClaimMapping,
  context: { issuer: string; clientId: string },
): Identity {
  const read = (path: ClaimPath) => readClaim(claims, path, context.clientId)
  const subject = typeof claims.sub === 'string' ? toText(claims.sub) : undefined
  if (subject === undefined) {
    throw new AppError('ERR_OIDC_ID_TOKEN_INVALID', { detail: 'claims have no "sub"' })
  }
  const id = toText(read(mapping.userId)) ?? subject
  for (const [what, value] of [
    ['"sub"', subject],
    ['the user id', id],
  ] as const) {
    if (value.length > MAX_ID_LENGTH) {
      throw new AppError('ERR_OIDC_ID_TOKEN_INVALID', {
        detail: `${what} is ${value.length} characters long; OpenID Connect allows ${MAX_ID_LENGTH}`,
      })
    }
    if (HAS_UNPRINTABLE.test(value)) {
      throw new AppError('ERR_OIDC_ID_TOKEN_INVALID', {
        detail: `${what} holds control characters or unpaired surrogates`,
      })
    }
  }

  const email = readEmail(read(mapping.email))
  const emailVerified = toBoolean(claims.email_verified)
  // Stripped after the fallbacks, so a name of nothing but control characters gives none.
  const name =
    shorten(
      (mapping.name ? toText(read(mapping.name)) : undefined) ?? buildFallbackName(claims, email),
      MAX_NAME_LENGTH,
    )
      ?.replace(UNPRINTABLE, '')
      .trim() || undefined
  const avatar =
    readAvatarUrl(read(mapping.avatar)) ??
    (mapping.gravatar && email && emailVerified !== false ? buildGravatarUrl(email) : undefined)

  const groups = unique(mapping.groups.flatMap((path) => toNameList(read(path))))
  const roles = unique(mapping.roles.flatMap((path) => toNameList(read(path))))

  return {
    issuer: context.issuer,
    subject,
    id,
    ...(name === undefined ? {} : { name }),
    ...(email === undefined ? {} : { email }),
    ...(emailVerified === undefined ? {} : { emailVerified }),
    ...(avatar === undefined ? {} : { avatar }),
    groups,
    groupsUnknown: groups.length === 0 && hasGroupOverage(claims, mapping),
    groupsClaimPresent: mapping.groups.some((path) => isPresent(read(path))),
    roles,
    claims,
  }
}

/** Gravatar's URL for an email: SHA-256 of the trimmed, lower-cased address. */
export function buildGravatarUrl(email: string): string {
  const hash = createHash('sha256').update(email.trim().toLowerCase()).digest('hex')
  return `https://www.gravatar.com/avatar/${hash}?d=identicon`
}

/** `text` cut to `max` code points (never inside a surrogate pair), trailing space trimmed. */
function shorten(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined
  const points = Array.from(text)
  return points.length <= max ? text : points.slice(0, max).join('').trimEnd()
}

function buildFallbackName(
  claims: Record<string, unknown>,
  email: string | undefined,
): string | undefined {
  const full = [toText(claims.given_name), toText(claims.family_name)].filter(Boolean).join(' ')
  return (
    toText(claims.name) ??
    // Not standard, but what the Python adapter read, so its providers send it.
    toText(claims.displayName) ??
    (full || undefined) ??
    toText(claims.preferred_username) ??
    email?.slice(0, email.indexOf('@'))
  )
}

function readEmail(value: unknown): string | undefined {
  const email = typeof value === 'string' ? toText(value) : undefined
  if (email === undefined || email.length > MAX_EMAIL_LENGTH) return undefined
  return EMAIL_SHAPE.test(email) && !HAS_UNPRINTABLE.test(email) ? email : undefined
}

// Only https: a data: URI would bloat the token, and http would be mixed content in Jitsi.
function readAvatarUrl(value: unknown): string | undefined {
  const text = typeof value === 'string' ? toText(value) : undefined
  if (text === undefined || text.length > MAX_AVATAR_URL_LENGTH) return undefined
  return URL.canParse(text) && new URL(text).protocol === 'https:' ? text : undefined
}

// Entra sends `hasgroups: true` (implicit flow) or `_claim_names.groups` (OIDC Core §5.6.2
// distributed claims) instead of the list when a user is in too many groups.
function hasGroupOverage(claims: Record<string, unknown>, mapping: ClaimMapping): boolean {
  if (toBoolean(claims.hasgroups) === true) return true

  const names = claims._claim_names
  if (names === null || typeof names !== 'object') return false
  return mapping.groups.some((path) => Object.hasOwn(names, path.text))
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null
}

function unique(names: string[]): string[] {
  return [...new Set(names)]
}
