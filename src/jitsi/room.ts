import { AppError } from '../errors.js'

// JITSI.md §4 step 1: characters the app drops when it parses its own URL.
const JITSI_DROPPED_CHARS = /[:?#[\]@!$&'()*+,;=></"\s]/gu

// Characters that could move the return URL to another origin or path; refused, not dropped,
// because a legitimate room from the app never contains them.
const PATH_BREAKING_CHARS = /[/\\@:]/u
const ENCODED_PATH_BREAKERS = /%(?:2f|5c|[01][0-9a-f]|7f)/iu
const CONTROL_CHARS = /\p{Cc}/u
const ONLY_DOTS = /^(?:\.|%2e)+$/iu
// With the `u` flag a surrogate range matches only a surrogate that is not part of a pair.
const UNPAIRED_SURROGATE = /[\ud800-\udfff]/u

// Counted in characters once decoded: the web app sends a room percent-encoded (9 characters
// for one CJK character), an app sends it as typed, and both name the same room.
const MAX_ROOM_LENGTH = 256
// The percent-encoded form of the longest room an XMPP room name can hold.
const MAX_RAW_ROOM_LENGTH = 3 * 1023
const MAX_TENANT_LENGTH = 64
// The backend-safe name is the XMPP room's local part, which RFC 7622 caps at 1023 bytes.
const MAX_BACKEND_SAFE_LENGTH = 1023

const TENANT_SHAPE = /^(?:[\p{L}\p{N}\p{M}_-]|%[0-9a-f]{2})+$/iu
const TENANT_DECODED_SHAPE = /^[\p{L}\p{N}\p{M}_-]+$/u

/** The text with its percent-escapes decoded, or undefined when one of them is malformed. */
export function decodePercentEscapes(text: string): string | undefined {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/** As Jitsi decodes a room (JITSI.md §4): when decoding fails, the text stays as it is. */
function decodeLeniently(text: string): string {
  return decodePercentEscapes(text) ?? text
}

/**
 * The room's backend-safe name: the form Prosody sees and the `room` claim must carry
 * (JITSI.md §4). `Café` and `Caf%C3%A9` both give `caf%c3%a9`. Throws ERR_JITSI_ROOM_INVALID for
 * text with an unpaired surrogate, which has no percent-encoded form, and for a name longer
 * than an XMPP room may be.
 */
export function buildBackendSafeRoomName(room: string): string {
  if (UNPAIRED_SURROGATE.test(room)) {
    throw new AppError('ERR_JITSI_ROOM_INVALID', { detail: 'room has an unpaired surrogate' })
  }
  const stripped = room.replace(JITSI_DROPPED_CHARS, '')
  const normalized = decodeLeniently(stripped).normalize('NFKC').toLowerCase()
  const safe = encodeURIComponent(normalized).toLowerCase()
  if (safe.length > MAX_BACKEND_SAFE_LENGTH) {
    throw new AppError('ERR_JITSI_ROOM_INVALID', {
      detail: `room's backend-safe name is over ${MAX_BACKEND_SAFE_LENGTH} bytes, XMPP's limit for a room`,
    })
  }
  return safe
}

/**
 * Checks a room from the login request and returns it as it goes into the return path: with
 * the characters Jitsi drops removed, otherwise as received (percent-escapes kept).
 */
export function validateRoomName(room: string): string {
  if (room.trim() === '') {
    throw new AppError('ERR_JITSI_ROOM_MISSING', { detail: 'room is empty' })
  }
  if (
    room.length > MAX_RAW_ROOM_LENGTH ||
    Array.from(decodeLeniently(room)).length > MAX_ROOM_LENGTH
  ) {
    throw new AppError('ERR_JITSI_ROOM_INVALID', {
      detail: `room is over ${MAX_ROOM_LENGTH} characters`,
    })
  }
  if (room.trim() === '*') {
    throw new AppError('ERR_JITSI_ROOM_INVALID', {
      detail: 'room "*" is not accepted from a request',
    })
  }
  if (CONTROL_CHARS.test(room) || UNPAIRED_SURROGATE.test(room)) {
    throw new AppError('ERR_JITSI_ROOM_INVALID', { detail: 'room has control characters' })
  }
  if (PATH_BREAKING_CHARS.test(room) || ENCODED_PATH_BREAKERS.test(room)) {
    throw new AppError('ERR_JITSI_ROOM_INVALID', { detail: 'room has a path or origin separator' })
  }

  const stripped = room.replace(JITSI_DROPPED_CHARS, '')
  if (stripped === '') {
    throw new AppError('ERR_JITSI_ROOM_INVALID', { detail: 'room has no usable characters' })
  }
  const decoded = decodeLeniently(stripped)
  if (CONTROL_CHARS.test(decoded)) {
    throw new AppError('ERR_JITSI_ROOM_INVALID', { detail: 'room has control characters' })
  }
  // Prosody compares the decoded, NFKC-normalized name: `%2A`, `＊` (U+FF0A) and `﹡` all
  // become the wildcard `*`, `／` (U+FF0F) becomes `/`, and `%2e%2e` becomes `..`. Judge that
  // form, not the one typed.
  const normalized = decoded.normalize('NFKC')
  if (normalized.includes('*')) {
    throw new AppError('ERR_JITSI_ROOM_INVALID', {
      detail: 'room holds "*" once decoded: a request cannot name the wildcard room',
    })
  }
  if (/[/\\]/u.test(normalized)) {
    throw new AppError('ERR_JITSI_ROOM_INVALID', {
      detail: 'room holds a path separator once decoded',
    })
  }
  if (ONLY_DOTS.test(normalized)) {
    throw new AppError('ERR_JITSI_ROOM_INVALID', { detail: 'room has no usable characters' })
  }
  if (buildBackendSafeRoomName(stripped) === '') {
    throw new AppError('ERR_JITSI_ROOM_INVALID', { detail: 'room has no backend-safe name' })
  }

  return stripped
}

/**
 * Checks a tenant path segment and returns it as typed (case kept). A tenant cannot hold a dot:
 * Prosody maps tenant rooms to `[tenant]room@conference.<domain>` (JITSI.md §3).
 */
export function validateTenant(tenant: string): string {
  if (tenant === '' || tenant.length > MAX_TENANT_LENGTH) {
    throw new AppError('ERR_JITSI_TENANT_INVALID', {
      detail: `tenant must be 1 to ${MAX_TENANT_LENGTH} chars`,
    })
  }
  if (!TENANT_SHAPE.test(tenant)) {
    throw new AppError('ERR_JITSI_TENANT_INVALID', {
      detail: 'tenant may hold only letters, digits, "-", "_" and percent-encoded letters',
    })
  }

  let decoded: string
  try {
    decoded = decodeURIComponent(tenant)
  } catch {
    throw new AppError('ERR_JITSI_TENANT_INVALID', { detail: 'tenant is not valid UTF-8' })
  }
  if (!TENANT_DECODED_SHAPE.test(decoded)) {
    throw new AppError('ERR_JITSI_TENANT_INVALID', {
      detail: 'tenant decodes to characters other than letters, digits, "-" and "_"',
    })
  }

  return tenant
}
