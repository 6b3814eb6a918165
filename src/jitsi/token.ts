import { createHmac, timingSafeEqual, webcrypto } from 'node:crypto'
import { SignJWT } from 'jose'

import type { TokenConfig } from '../config/index.js'
import { AppError } from '../errors.js'
import type { LoginRequest } from './login-request.js'

export type JitsiAlgorithm = TokenConfig['algorithm']

/** What minting needs of the token settings; how the token travels back is not its concern. */
export type JitsiTokenSettings = Omit<TokenConfig, 'delivery'>

export interface JitsiUser {
  id: string
  name?: string
  email?: string
  avatar?: string
  moderator: boolean
  lobbyBypass?: boolean
  securityBypass?: boolean
}

/** `context.user`: copied into presence, so everyone in the meeting sees it (JITSI.md §2). */
export interface JitsiUserClaims {
  id: string
  name?: string
  email?: string
  avatar?: string
  affiliation: 'owner' | 'member'
  moderator: boolean
  lobby_bypass?: true
  security_bypass?: true
}

/** The payload Prosody checks (JITSI.md §2). Times are integer seconds since the epoch. */
export interface JitsiClaims {
  iss: string
  aud: string
  sub: string
  room: string
  iat: number
  nbf: number
  exp: number
  context: { user: JitsiUserClaims; features?: Record<string, boolean> }
}

const MAX_TOKEN_BYTES = 4096
const HASH_BY_ALGORITHM = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const
const SIGNATURE_BYTES = { HS256: 32, HS384: 48, HS512: 64 } as const
const BASE64URL = /^[A-Za-z0-9_-]+$/
const USER_STRING_FIELDS = ['id', 'name', 'email', 'avatar', 'affiliation'] as const
const USER_BOOLEAN_FIELDS = ['moderator', 'lobby_bypass', 'security_bypass'] as const

/**
 * Prosody compares `sub` with the tenant after lower-casing both with Lua's `string.lower`,
 * which changes ASCII letters only (JITSI.md §3): `É` must stay `É` to match.
 */
function asciiLowerCase(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase())
}

function buildSubject(settings: JitsiTokenSettings, tenant: string | undefined): string {
  if (tenant === undefined || settings.subject === '*') return settings.subject
  return asciiLowerCase(tenant)
}

function buildUserClaims(user: JitsiUser): JitsiUserClaims {
  return {
    id: user.id,
    ...(user.name && { name: user.name }),
    ...(user.email && { email: user.email }),
    ...(user.avatar && { avatar: user.avatar }),
    affiliation: user.moderator ? 'owner' : 'member',
    moderator: user.moderator,
    ...(user.lobbyBypass === true && { lobby_bypass: true }),
    ...(user.securityBypass === true && { security_bypass: true }),
  }
}

/**
 * Builds the Jitsi token payload for one login. `features`, when it has entries, becomes
 * `context.features` with every listed feature as a boolean: Prosody then enables only the
 * `true` ones, whereas leaving the object out lets features follow moderator status.
 */
export function buildJitsiClaims(input: {
  request: Pick<LoginRequest, 'roomSafe' | 'tenant'>
  user: JitsiUser
  features?: Record<string, boolean>
  settings: JitsiTokenSettings
  nowSeconds: number
}): JitsiClaims {
  const { request, user, features, settings } = input
  const now = Math.floor(input.nowSeconds)
  const featureEntries = Object.entries(features ?? {})

  const claims: JitsiClaims = {
    iss: settings.issuer,
    aud: settings.audience,
    sub: buildSubject(settings, request.tenant),
    room: settings.roomScope === 'any' ? '*' : request.roomSafe,
    iat: now,
    nbf: now - Math.floor(settings.notBeforeSkewSeconds),
    exp: now + Math.floor(settings.lifetimeSeconds),
    context: {
      user: buildUserClaims(user),
      ...(featureEntries.length > 0 && {
        features: Object.fromEntries(featureEntries.map(([name, on]) => [name, on === true])),
      }),
    },
  }
  fitUserToTokenLimit(claims, settings.algorithm)
  return claims
}

/** The length of the compact token these claims sign into, without signing it. */
function measureToken(claims: JitsiClaims, algorithm: JitsiAlgorithm): number {
  const base64urlLength = (bytes: number) => Math.ceil((bytes * 4) / 3)
  const header = Buffer.byteLength(JSON.stringify({ alg: algorithm, typ: 'JWT' }))
  const payload = Buffer.byteLength(JSON.stringify(claims))
  return (
    base64urlLength(header) +
    base64urlLength(payload) +
    base64urlLength(SIGNATURE_BYTES[algorithm]) +
    2
  )
}

/**
 * Keeps the token under Prosody's 4096 bytes when the provider's profile is large: leaves out
 * the avatar, then shortens the name, then leaves out the email, only as far as needed. The
 * rest is bounded before this (room 1023 characters, ids 255, tenant 64), so it always fits.
 */
function fitUserToTokenLimit(claims: JitsiClaims, algorithm: JitsiAlgorithm): void {
  const user = claims.context.user
  const fits = () => measureToken(claims, algorithm) < MAX_TOKEN_BYTES
  if (fits()) return

  delete user.avatar
  let name = Array.from(user.name ?? '')
  while (!fits() && name.length > 0) {
    name = name.slice(0, name.length - Math.ceil(name.length / 8))
    if (name.length > 0) user.name = name.join('').trimEnd()
    else delete user.name
  }
  if (!fits()) delete user.email
}

// jose turns raw key bytes into a CryptoKey on every call; the secret is fixed for the
// process, so it is imported once (this shows up in the login-storm benchmark).
const importedSecrets = new WeakMap<Uint8Array, Map<JitsiAlgorithm, Promise<webcrypto.CryptoKey>>>()

function importSecret(secret: Uint8Array, algorithm: JitsiAlgorithm): Promise<webcrypto.CryptoKey> {
  const byAlgorithm = importedSecrets.get(secret) ?? new Map()
  importedSecrets.set(secret, byAlgorithm)
  let key = byAlgorithm.get(algorithm)
  if (!key) {
    const hash = `SHA-${algorithm.slice(2)}`
    key = webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash }, false, ['sign'])
    byAlgorithm.set(algorithm, key)
  }
  return key
}

/** Signs the claims as a compact JWT with the header `{"alg": <algorithm>, "typ": "JWT"}`. */
export async function signJitsiToken(
  claims: JitsiClaims,
  settings: JitsiTokenSettings,
): Promise<string> {
  try {
    return await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: settings.algorithm, typ: 'JWT' })
      .sign(await importSecret(settings.secret, settings.algorithm))
  } catch (cause) {
    throw new AppError('ERR_JITSI_TOKEN_INVALID', { detail: 'signing failed', cause })
  }
}

function reject(rule: string): never {
  throw new AppError('ERR_JITSI_TOKEN_INVALID', { detail: `token breaks Prosody's rule: ${rule}` })
}

function parseJsonPart(part: string, name: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    reject(`${name} is not base64url JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    reject(`${name} is not a JSON object`)
  }
  return value as Record<string, unknown>
}

function assertSignature(parts: string[], settings: JitsiTokenSettings): void {
  const expected = createHmac(HASH_BY_ALGORITHM[settings.algorithm], settings.secret)
    .update(`${parts[0]}.${parts[1]}`)
    .digest()
  const actual = Buffer.from(parts[2]!, 'base64url')
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    reject('signature does not verify with the app secret')
  }
}

function assertSubject(sub: unknown, settings: JitsiTokenSettings, tenant?: string): void {
  if (typeof sub !== 'string' || sub === '') reject('sub claim is missing')
  if (sub === '*') return
  if (tenant !== undefined && asciiLowerCase(sub) !== asciiLowerCase(tenant)) {
    reject('sub must be the tenant for a tenant room')
  }
  if (tenant === undefined && sub !== settings.subject) reject('sub must be the configured domain')
}

const backendSafeForm = /^(?:[a-z0-9\-_.!~*'()]|%[0-9a-f]{2})+$/

function assertRoom(room: unknown, settings: JitsiTokenSettings, roomSafe: string): void {
  if (typeof room !== 'string' || room === '') reject('room claim is missing')
  const expected = settings.roomScope === 'any' ? '*' : roomSafe
  if (room !== expected) reject('room claim is not the requested room')
  // A room from a request never stands for every room, even when it decodes to "*".
  if (room === '*' && settings.roomScope !== 'any') reject('room claim is the wildcard')
  // The form encodeURIComponent leaves after lower-casing (JITSI.md §4 step 3). Recomputing the
  // name from the claim would be wrong: a room typed as `%27x` decodes to `'x`, which Jitsi
  // keeps, while step 1 would now drop the quote.
  if (room !== '*' && !backendSafeForm.test(room)) {
    reject('room claim is not in backend-safe form')
  }
}

function assertTimes(payload: Record<string, unknown>, nowSeconds: number): void {
  const { exp, nbf, iat } = payload
  if (!Number.isInteger(exp) || !Number.isInteger(nbf)) reject('exp and nbf must be integers')
  if (iat !== undefined && !Number.isInteger(iat)) reject('iat must be an integer')
  if (nowSeconds >= (exp as number)) reject('not acceptable by exp')
  if (nowSeconds < (nbf as number)) reject('not acceptable by nbf')
}

function assertContext(context: unknown): void {
  if (typeof context !== 'object' || context === null) reject('context is missing')
  const { user, features } = context as Record<string, unknown>
  if (typeof user !== 'object' || user === null) reject('context.user is missing')

  const fields = user as Record<string, unknown>
  if (typeof fields.id !== 'string') reject('context.user.id must be a string')
  for (const key of USER_STRING_FIELDS) {
    if (key in fields && typeof fields[key] !== 'string') reject(`context.user.${key} not a string`)
  }
  for (const key of USER_BOOLEAN_FIELDS) {
    if (key in fields && typeof fields[key] !== 'boolean') reject(`context.user.${key} not boolean`)
  }

  if (features === undefined) return
  if (typeof features !== 'object' || features === null) reject('context.features not an object')
  if (Object.values(features).some((on) => typeof on !== 'boolean')) {
    reject('context.features values must be booleans')
  }
}

/**
 * Re-checks a minted token against every rule Prosody applies (JITSI.md §2-§4), so the adapter
 * can show its own error instead of Jitsi's "you're not allowed to join". Throws
 * ERR_JITSI_TOKEN_INVALID naming the rule; the token itself never goes into the error.
 */
export function assertProsodyAccepts(
  token: string,
  expected: {
    settings: JitsiTokenSettings
    roomSafe: string
    tenant?: string
    nowSeconds: number
  },
): void {
  const { settings } = expected
  if (Buffer.byteLength(token) >= MAX_TOKEN_BYTES)
    reject(`token is ${MAX_TOKEN_BYTES} bytes or more`)

  const parts = token.split('.')
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) {
    reject('compact form with three non-empty base64url parts')
  }

  const header = parseJsonPart(parts[0]!, 'header')
  if (header.typ !== 'JWT') reject('invalid typ')
  if (header.alg !== settings.algorithm) reject('invalid or incorrect alg')
  assertSignature(parts, settings)

  const payload = parseJsonPart(parts[1]!, 'payload')
  if (payload.iss !== settings.issuer) reject('iss is not the accepted issuer')
  if (payload.aud !== settings.audience) reject('aud is not the accepted audience string')
  assertSubject(payload.sub, settings, expected.tenant)
  assertRoom(payload.room, settings, expected.roomSafe)
  assertTimes(payload, expected.nowSeconds)
  assertContext(payload.context)
}
