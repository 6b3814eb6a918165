import { AppError, type ErrorCode } from '../errors.js'
import { buildBackendSafeRoomName, validateRoomName, validateTenant } from './room.js'

export type ClientKind = 'web' | 'ios' | 'android' | 'electron'

/** What the meeting app asked for, checked; stored in the login transaction as JSON. */
export interface LoginRequest {
  /** Room for the return path, as the app had it (percent-encoded form kept), validated. */
  room: string
  /** Computed here with buildBackendSafeRoomName, never taken from input. */
  roomSafe: string
  /** Validated, case kept. */
  tenant?: string
  client: ClientKind
  /** Hash parameters to carry back, in order: key exactly as received, value as JSON text. */
  overrides: Array<[key: string, json: string]>
  /** Popup mode (config.tokenAuthInline): Jitsi appended `nonce=` to tokenAuthUrl. */
  popup: boolean
}

const MAX_STATE_LENGTH = 8192
const MAX_OVERRIDES = 50
const MAX_OVERRIDES_CHARS = 2048
const PLATFORM_FLAGS = ['ios', 'android', 'electron'] as const

const OVERRIDE_PREFIXES = ['config.', 'interfaceConfig.', 'iceServers.']
const PLAIN_DOTTED_NAME = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+$/
const PROTOTYPE_NAMES = new Set(['__proto__', 'constructor', 'prototype'])

function readSingle(query: Record<string, unknown>, key: string, code: ErrorCode) {
  const value = query[key]
  if (value === undefined) return undefined
  if (typeof value !== 'string') {
    throw new AppError(code, { detail: `query parameter "${key}" must appear once` })
  }
  return value
}

// An app that does not know a placeholder leaves it in tokenAuthUrl as literal text.
function readPlaceholderAware(query: Record<string, unknown>, key: string, code: ErrorCode) {
  const value = readSingle(query, key, code)
  return value === undefined || value === '' || value === `{${key}}` ? undefined : value
}

function parseStateObject(text: string): Record<string, unknown> {
  if (text.length > MAX_STATE_LENGTH) {
    throw new AppError('ERR_JITSI_STATE_INVALID', {
      detail: `state is over ${MAX_STATE_LENGTH} chars`,
    })
  }

  let state: unknown
  try {
    state = JSON.parse(text)
  } catch {
    throw new AppError('ERR_JITSI_STATE_INVALID', { detail: 'state is not JSON' })
  }
  if (typeof state !== 'object' || state === null || Array.isArray(state)) {
    throw new AppError('ERR_JITSI_STATE_INVALID', { detail: 'state is not a JSON object' })
  }

  return state as Record<string, unknown>
}

function readStateString(state: Record<string, unknown>, key: string): string | undefined {
  if (!Object.hasOwn(state, key)) return undefined
  const value = state[key]
  if (typeof value !== 'string') {
    throw new AppError('ERR_JITSI_STATE_INVALID', { detail: `state "${key}" must be a string` })
  }
  return value
}

function parseClient(state: Record<string, unknown>): ClientKind {
  const flagged = PLATFORM_FLAGS.filter((flag) => state[flag] === true)
  if (flagged.length > 1) {
    throw new AppError('ERR_JITSI_STATE_INVALID', { detail: 'state names more than one platform' })
  }
  return flagged[0] ?? 'web'
}

function isOverrideKey(key: string): boolean {
  return (
    OVERRIDE_PREFIXES.some((prefix) => key.startsWith(prefix)) &&
    PLAIN_DOTTED_NAME.test(key) &&
    !key.split('.').some((part) => PROTOTYPE_NAMES.has(part))
  )
}

function hasPrototypeKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  return Object.entries(value).some(
    ([key, inner]) => PROTOTYPE_NAMES.has(key) || hasPrototypeKey(inner),
  )
}

function parseJsonText(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) }
  } catch {
    return undefined
  }
}

// Older Jitsi releases put the raw hash text in the state ("true", "\"Weekly\""), newer ones the
// parsed value; a string that is JSON text already is carried back unchanged.
function buildOverrideJson(value: unknown): { json: string; value: unknown } {
  if (typeof value !== 'string') return { json: JSON.stringify(value), value }
  const parsed = parseJsonText(value)
  return parsed ? { json: value, value: parsed.value } : { json: JSON.stringify(value), value }
}

function buildOverrides(state: Record<string, unknown>): Array<[string, string]> {
  const overrides: Array<[string, string]> = []
  let chars = 0

  for (const [key, raw] of Object.entries(state)) {
    if (overrides.length === MAX_OVERRIDES) break
    if (!isOverrideKey(key)) continue

    const { json, value } = buildOverrideJson(raw)
    if (chars + key.length + json.length > MAX_OVERRIDES_CHARS || hasPrototypeKey(value)) continue

    overrides.push([key, json])
    chars += key.length + json.length
  }

  return overrides
}

function buildFromState(text: string, popup: boolean): LoginRequest {
  const state = parseStateObject(text)

  const rawRoom = readStateString(state, 'room')
  if (rawRoom === undefined) {
    throw new AppError('ERR_JITSI_ROOM_MISSING', { detail: 'state has no "room"' })
  }
  const room = validateRoomName(rawRoom)
  const roomSafe = buildBackendSafeRoomName(room)

  const claimedSafe = readStateString(state, 'roomSafe')
  if (claimedSafe !== undefined && claimedSafe !== roomSafe) {
    throw new AppError('ERR_JITSI_STATE_INVALID', {
      detail: `state "roomSafe" does not match its "room": the room's backend-safe name is "${roomSafe}"`,
    })
  }

  // An empty tenant means the room has none.
  const rawTenant = readStateString(state, 'tenant')
  const tenant = rawTenant ? validateTenant(rawTenant) : undefined

  return {
    room,
    roomSafe,
    ...(tenant && { tenant }),
    client: parseClient(state),
    overrides: buildOverrides(state),
    popup,
  }
}

// Characters browsers leave literal in a path, which Jitsi then drops (JITSI.md §4 step 1).
const LITERAL_PATH_CHARS_JITSI_DROPS = /[:@!$&'()*+,;=[\]]/g

// The query parser already percent-decoded these values once; encode them again so that the
// room matches what the app has in its address bar (`My Room` was `My%20Room` there). Which
// characters were escaped is lost: those browsers keep literal are taken to have been literal.
function encodeQueryValue(value: string, code: ErrorCode): string {
  const kept = value.replace(LITERAL_PATH_CHARS_JITSI_DROPS, '')
  if (kept === '' && value !== '') {
    throw new AppError(code, { detail: 'value has only characters Jitsi drops' })
  }

  try {
    return encodeURIComponent(kept)
  } catch {
    throw new AppError(code, { detail: 'value has an unpaired surrogate' })
  }
}

function buildFromQuery(
  roomParam: string,
  tenantParam: string | undefined,
  popup: boolean,
  raw: boolean,
): LoginRequest {
  const asPath = (value: string, code: ErrorCode) => (raw ? value : encodeQueryValue(value, code))
  const lastSlash = roomParam.lastIndexOf('/')
  const pathTenant = lastSlash === -1 ? undefined : roomParam.slice(0, lastSlash)
  if (pathTenant !== undefined && tenantParam !== undefined && pathTenant !== tenantParam) {
    throw new AppError('ERR_JITSI_TENANT_INVALID', {
      detail: 'tenant in "roomname" differs from "tenant"',
    })
  }

  const rawTenant = pathTenant ?? tenantParam
  const tenant =
    rawTenant === undefined
      ? undefined
      : validateTenant(asPath(rawTenant, 'ERR_JITSI_TENANT_INVALID'))
  const room = validateRoomName(asPath(roomParam.slice(lastSlash + 1), 'ERR_JITSI_ROOM_INVALID'))

  return {
    room,
    roomSafe: buildBackendSafeRoomName(room),
    ...(tenant && { tenant }),
    client: 'web',
    overrides: [],
    popup,
  }
}

/**
 * The values of `keys` in a raw query string, still percent-encoded. Jitsi puts the room into
 * `tokenAuthUrl` as its address bar has it (JITSI.md §5: not encoded again), and the Python
 * adapter's page script does the same with the path: the raw value *is* the room's path
 * segment, while the decoded one has lost which characters were escaped (`a%3Db` vs `a=b`).
 */
function readRawValues(
  rawQuery: string,
  keys: readonly string[],
): Record<string, string | string[]> {
  const values: Record<string, string | string[]> = {}
  for (const pair of rawQuery.replace(/^\?/, '').split('&')) {
    const index = pair.indexOf('=')
    const key = index === -1 ? pair : pair.slice(0, index)
    if (!keys.includes(key)) continue
    const value = index === -1 ? '' : pair.slice(index + 1)
    const seen = values[key]
    values[key] = seen === undefined ? value : [seen].flat().concat(value)
  }
  return values
}

const rawRoomKeys = ['roomname', 'room', 'tenant'] as const

/**
 * The `state` JSON that `parseLoginRequest` reads back into the same request: room, tenant,
 * platform flag and config overrides. Retry links use it, so a retried login returns to the
 * same app with the same settings. Popup mode is not carried: it comes from Jitsi's `nonce=`.
 */
export function buildStateJson(request: LoginRequest): string {
  const state: Record<string, unknown> = { room: request.room }
  if (request.tenant) state['tenant'] = request.tenant
  if (request.client !== 'web') state[request.client] = true

  for (const [key, json] of request.overrides) {
    const value: unknown = JSON.parse(json)
    // A string that itself reads as JSON ("true") would come back as that JSON value; its JSON
    // text keeps it a string, as buildOverrideJson keeps JSON text unchanged.
    state[key] = typeof value === 'string' && parseJsonText(value) ? json : value
  }
  return JSON.stringify(state)
}

/**
 * Reads the login request the meeting app sent to `/oidc/auth` (JITSI.md §5): the `state` JSON
 * of `tokenAuthUrl`, or `roomname=` / `room=` with an optional `tenant=`. `state` wins when
 * both are present. The platform comes from the state only; a query `ios=true` is ignored.
 * With `rawQuery` (the undecoded query string), `roomname`, `room` and `tenant` are read as
 * Jitsi wrote them; without it they are taken from the decoded `query` and encoded again.
 */
export function parseLoginRequest(query: Record<string, unknown>, rawQuery?: string): LoginRequest {
  const nonce = readSingle(query, 'nonce', 'ERR_JITSI_STATE_INVALID')
  const popup = nonce !== undefined && nonce !== ''

  const state = readSingle(query, 'state', 'ERR_JITSI_STATE_INVALID')
  if (state !== undefined && state !== '{state}') {
    return buildFromState(state, popup)
  }

  const source = rawQuery === undefined ? query : readRawValues(rawQuery, rawRoomKeys)
  const roomParam =
    readPlaceholderAware(source, 'roomname', 'ERR_JITSI_ROOM_INVALID') ??
    readPlaceholderAware(source, 'room', 'ERR_JITSI_ROOM_INVALID')
  if (roomParam === undefined) {
    throw new AppError('ERR_JITSI_ROOM_MISSING', { detail: 'no "state", "roomname" or "room"' })
  }
  const tenantParam = readPlaceholderAware(source, 'tenant', 'ERR_JITSI_TENANT_INVALID')

  return buildFromQuery(roomParam, tenantParam, popup, rawQuery !== undefined)
}
