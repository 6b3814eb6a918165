import { AppError } from '../errors.js'
import type { LoginRequest } from './login-request.js'
import { decodePercentEscapes } from './room.js'

/** Where the browser goes after login, and what the landing page offers. */
export interface ReturnTarget {
  kind: 'redirect' | 'app-page' | 'popup-page'
  /** 'redirect': the https URL; 'app-page': the deep link; 'popup-page': the room URL with token. */
  url: string
  /** Web URL of the room with token, always on JITSI_BASE_URL's origin (the browser fallback). */
  webUrl: string
  deepLink?: string
  intentLink?: string
}

const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const PERCENT_ESCAPE_OR_CHAR = /%[0-9A-Fa-f]{2}|[\s\S]/gu
const UNRESERVED = /^[A-Za-z0-9._~-]$/
const PREJOIN_KEY = 'config.prejoinConfig.enabled'
const LEGACY_PREJOIN_KEY = 'config.prejoinPageEnabled'

const appSchemes: Record<Exclude<LoginRequest['client'], 'web'>, string> = {
  ios: 'org.jitsi.meet:',
  android: 'org.jitsi.meet:',
  electron: 'jitsi-meet:',
}

// Keeps valid percent-escapes (the app's own encoding) and encodes every other character that
// is not unreserved, so no input can add a path segment, a query or a fragment. Jitsi decodes
// the path and keeps the text as it is when that fails (JITSI.md §4), so escapes are kept only
// when the whole segment decodes; otherwise each "%" is literal text, and is sent as "%25".
function encodePathSegment(segment: string): string {
  const keepEscapes = decodePercentEscapes(segment) !== undefined
  try {
    return segment.replace(PERCENT_ESCAPE_OR_CHAR, (part) =>
      (keepEscapes && part[0] === '%' && part.length === 3) || UNRESERVED.test(part)
        ? part
        : encodeURIComponent(part).replace(
            /[!'()*]/g,
            (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
          ),
    )
  } catch {
    throw new AppError('ERR_JITSI_ROOM_INVALID', { detail: 'room has an unpaired surrogate' })
  }
}

function buildBasePath(jitsiBaseUrl: URL): string {
  return jitsiBaseUrl.pathname.replace(/\/+$/, '')
}

function buildRoomPath(jitsiBaseUrl: URL, request: Pick<LoginRequest, 'room' | 'tenant'>) {
  const segments = request.tenant ? [request.tenant, request.room] : [request.room]
  return `${buildBasePath(jitsiBaseUrl)}/${segments.map(encodePathSegment).join('/')}`
}

function buildConfigHash(
  overrides: LoginRequest['overrides'],
  skipPrejoin: boolean,
  legacyPrejoinFlag: boolean,
): string[] {
  const forced = new Map<string, string>()
  if (skipPrejoin) forced.set(PREJOIN_KEY, 'false')
  if (legacyPrejoinFlag) forced.set(LEGACY_PREJOIN_KEY, 'false')

  const entries = overrides.map(([key, json]): [string, string] => [key, forced.get(key) ?? json])
  for (const [key, json] of forced) {
    if (!overrides.some(([carried]) => carried === key)) entries.push([key, json])
  }

  return entries.map(([key, json]) => `${encodeURIComponent(key)}=${encodeURIComponent(json)}`)
}

function withHash(url: string, params: string[]): string {
  return params.length === 0 ? url : `${url}#${params.join('&')}`
}

function assertCompactJwt(token: string): void {
  if (!COMPACT_JWT.test(token)) {
    throw new AppError('ERR_JITSI_TOKEN_INVALID', { detail: 'token is not a compact JWT' })
  }
}

function assertBuiltPath(url: string, expectedPath: string, expectedHost: string): void {
  const parsed = new URL(url)
  if (parsed.host !== expectedHost || parsed.pathname !== expectedPath) {
    throw new AppError('ERR_JITSI_ROOM_INVALID', { detail: 'return URL left the room path' })
  }
}

/** The room's web URL without a token, for "join as guest" links. */
export function buildRoomUrl(
  jitsiBaseUrl: URL,
  request: Pick<LoginRequest, 'room' | 'tenant'>,
): string {
  const url = `${jitsiBaseUrl.origin}${buildRoomPath(jitsiBaseUrl, request)}`
  assertSameOrigin(url, jitsiBaseUrl)
  return url
}

/**
 * The "join as a guest" link on a page after a cancelled or refused login: for iOS, Android
 * and Electron the app's deep link without a token, carrying the request's config overrides,
 * so the user lands back in the app that asked rather than in a browser tab; for the web the
 * room URL (JITSI.md §6).
 */
export function buildGuestLink(
  jitsiBaseUrl: URL,
  request: Pick<LoginRequest, 'room' | 'tenant' | 'client' | 'overrides'>,
): string {
  if (request.client === 'web') return buildRoomUrl(jitsiBaseUrl, request)

  const path = buildRoomPath(jitsiBaseUrl, request)
  assertSameOrigin(`${jitsiBaseUrl.origin}${path}`, jitsiBaseUrl)
  const config = buildConfigHash(request.overrides, false, false)
  const deepLink = withHash(`${appSchemes[request.client]}//${jitsiBaseUrl.host}${path}`, config)
  assertBuiltPath(deepLink, path, jitsiBaseUrl.host)
  return deepLink
}

/**
 * Throws ERR_JITSI_ROOM_INVALID unless `url` has JITSI_BASE_URL's origin and lies under its
 * path: the last guard against an open redirect.
 */
export function assertSameOrigin(url: string, jitsiBaseUrl: URL): void {
  if (jitsiBaseUrl.origin === 'null') {
    throw new AppError('ERR_CONFIG_INVALID', { detail: 'JITSI_BASE_URL has no web origin' })
  }

  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new AppError('ERR_JITSI_ROOM_INVALID', { detail: 'return URL does not parse' })
  }
  if (parsed.origin !== jitsiBaseUrl.origin) {
    throw new AppError('ERR_JITSI_ROOM_INVALID', { detail: 'return URL left the Jitsi origin' })
  }
  if (!parsed.pathname.startsWith(`${buildBasePath(jitsiBaseUrl)}/`)) {
    throw new AppError('ERR_JITSI_ROOM_INVALID', { detail: 'return URL left the Jitsi path' })
  }
}

/**
 * Builds the way back to the meeting (JITSI.md §6): a web redirect with the token in the hash
 * (`#jwt="…"`) or query, a page with an app deep link for iOS, Android and Electron, or the
 * popup page. Carried config overrides follow in the hash; with `skipPrejoin` the prejoin
 * screen is switched off even when the state carried `config.prejoinConfig.enabled=true`.
 */
export function buildReturnTarget(input: {
  jitsiBaseUrl: URL
  request: LoginRequest
  token: string
  delivery: 'hash' | 'query'
  skipPrejoin: boolean
  legacyPrejoinFlag: boolean
}): ReturnTarget {
  const { jitsiBaseUrl, request, token } = input
  assertCompactJwt(token)

  const path = buildRoomPath(jitsiBaseUrl, request)
  const config = buildConfigHash(request.overrides, input.skipPrejoin, input.legacyPrejoinFlag)
  const webUrl =
    input.delivery === 'hash'
      ? withHash(`${jitsiBaseUrl.origin}${path}`, [`jwt=%22${token}%22`, ...config])
      : withHash(`${jitsiBaseUrl.origin}${path}?jwt=${token}`, config)
  assertSameOrigin(webUrl, jitsiBaseUrl)
  assertBuiltPath(webUrl, path, jitsiBaseUrl.host)

  if (request.client === 'web') {
    return { kind: request.popup ? 'popup-page' : 'redirect', url: webUrl, webUrl }
  }

  const appPath = `//${jitsiBaseUrl.host}${path}?jwt=${token}`
  const deepLink = withHash(`${appSchemes[request.client]}${appPath}`, config)
  assertBuiltPath(deepLink, path, jitsiBaseUrl.host)
  if (request.client !== 'android') return { kind: 'app-page', url: deepLink, webUrl, deepLink }

  const intentLink = `${withHash(`intent:${appPath}`, config)}#Intent;scheme=org.jitsi.meet;package=org.jitsi.meet;end`
  assertBuiltPath(intentLink, path, jitsiBaseUrl.host)
  return { kind: 'app-page', url: deepLink, webUrl, deepLink, intentLink }
}
