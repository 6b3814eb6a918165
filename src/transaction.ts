import { createHash, timingSafeEqual, webcrypto } from 'node:crypto'

import { EncryptJWT, errors as joseErrors, jwtDecrypt } from 'jose'

import { AppError } from './errors.js'
import type { LoginRequest } from './jitsi/login-request.js'

/** A login in flight, between `/oidc/auth` and the provider's callback. */
export interface Transaction {
  state: string
  nonce: string
  codeVerifier: string
  request: LoginRequest
  /** Set when this attempt sent `prompt=none`; `login_required` then retries interactively. */
  silent?: boolean
}

/** The cookie key, imported once with `importTransactionKey` (jose would import raw bytes per call). */
export type TransactionKey = webcrypto.CryptoKey

export function importTransactionKey(raw: Uint8Array): Promise<TransactionKey> {
  return webcrypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])
}

/** A login left unfinished for this long is gone: the cookie expires and the seal with it. */
export const transactionTtlSeconds = 600

export const transactionCookiePrefix = 'oidc_tx_'

/** At most this many logins are in flight per browser; starting one more drops the oldest. */
export const maxTransactionCookies = 5

/**
 * Byte budget for the transaction cookies a browser sends together. Node refuses a request
 * whose headers pass 16 KB (431), and a page on any site can start logins here (a top-level
 * navigation carries Lax cookies), so both the count and the size stay bounded.
 */
export const maxTransactionCookieBytes = 8192

// Fixed-width base36 milliseconds sort like the start times they encode (9 digits last until
// the year 5138), so the oldest login is found from the names alone, without opening a seal.
const START_DIGITS = 9

/**
 * Each login gets its own cookie, named after its start time and a hash of its state, so that
 * two logins started in two tabs do not overwrite each other and the oldest can be dropped
 * first. The name shows nothing of the state itself.
 */
export function buildTransactionCookieName(state: string, startedAtMs: number): string {
  const started = Math.max(0, Math.floor(startedAtMs)).toString(36).padStart(START_DIGITS, '0')
  return `${transactionCookiePrefix}${started}_${hashState(state)}`
}

/** The name of the cookie holding this state's transaction, among the request's cookies. */
export function findTransactionCookieName(
  cookieNames: Iterable<string>,
  state: string,
): string | undefined {
  const suffix = `_${hashState(state)}`
  for (const name of cookieNames) {
    if (name.startsWith(transactionCookiePrefix) && name.endsWith(suffix)) return name
  }
  return undefined
}

/**
 * The transaction cookies to clear before a new one of `newBytes` is set: the oldest, until
 * at most `maxTransactionCookies - 1` others remain and all of them together with the new one
 * fit `maxTransactionCookieBytes`. Names without a start time sort first, as the oldest.
 */
export function selectStaleTransactionCookies(
  cookies: Readonly<Record<string, string | undefined>>,
  newBytes: number,
): string[] {
  const newestFirst = Object.keys(cookies)
    .filter((name) => name.startsWith(transactionCookiePrefix))
    .map((name) => ({ name, key: readStartKey(name) }))
    .sort((a, b) => (a.key === b.key ? 0 : a.key < b.key ? 1 : -1))

  let bytes = newBytes
  let kept = 1
  const stale = newestFirst.findIndex(({ name }) => {
    bytes += name.length + 1 + (cookies[name]?.length ?? 0)
    kept += 1
    return kept > maxTransactionCookies || bytes > maxTransactionCookieBytes
  })
  return stale === -1 ? [] : newestFirst.slice(stale).map(({ name }) => name)
}

function hashState(state: string): string {
  return createHash('sha256').update(state).digest('base64url').slice(0, 16)
}

function readStartKey(name: string): string {
  const key = name.slice(transactionCookiePrefix.length, transactionCookiePrefix.length + 10)
  return /^[0-9a-z]{9}_$/.test(key) ? `${key}${name}` : ''
}

/** Options of a sealed cookie value: when it was made, how long it lives, what it is for. */
export interface SealOptions {
  nowSeconds: number
  ttlSeconds?: number
  /** Binds the value to one purpose, so a cookie sealed for another cannot stand in for it. */
  audience?: string
}

/**
 * Seals claims with authenticated encryption (JWE `dir` + A256GCM), so the browser can carry
 * them and any replica that shares the key can open them: no server-side session store.
 */
export async function sealCookieValue(
  claims: Record<string, unknown>,
  key: TransactionKey | Uint8Array,
  options: SealOptions,
): Promise<string> {
  const jwe = new EncryptJWT(claims)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .setIssuedAt(options.nowSeconds)
  if (options.audience) jwe.setAudience(options.audience)
  if (options.ttlSeconds) jwe.setExpirationTime(options.nowSeconds + options.ttlSeconds)
  return jwe.encrypt(key)
}

/** Opens a value of `sealCookieValue`; throws jose's errors for the caller to map. */
export async function openCookieValue(
  sealed: string,
  key: TransactionKey | Uint8Array,
  options: Omit<SealOptions, 'ttlSeconds'>,
): Promise<Record<string, unknown>> {
  const { payload } = await jwtDecrypt(sealed, key, {
    currentDate: new Date(options.nowSeconds * 1000),
    contentEncryptionAlgorithms: ['A256GCM'],
    keyManagementAlgorithms: ['dir'],
    ...(options.audience ? { audience: options.audience } : {}),
  })
  return payload
}

/** Seals a login transaction into its cookie value, for `transactionTtlSeconds`. */
export async function sealTransaction(
  transaction: Transaction,
  key: TransactionKey | Uint8Array,
  nowSeconds: number,
): Promise<string> {
  return sealCookieValue({ tx: transaction }, key, {
    nowSeconds,
    ttlSeconds: transactionTtlSeconds,
  })
}

/**
 * Opens a sealed transaction and checks that it belongs to the callback's `state`
 * (OAuth 2.0 Security BCP, RFC 9700 §4.7: the state binds the callback to this browser).
 */
export async function openTransaction(
  sealed: string,
  key: TransactionKey | Uint8Array,
  expectedState: string,
  nowSeconds: number,
): Promise<Transaction> {
  let transaction: Transaction
  try {
    const payload = await openCookieValue(sealed, key, { nowSeconds })
    transaction = payload['tx'] as Transaction
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) {
      throw new AppError('ERR_TX_MISSING', { detail: 'login transaction expired', cause: error })
    }
    throw new AppError('ERR_TX_INVALID', { detail: 'login cookie failed to open', cause: error })
  }

  if (!isTransaction(transaction)) {
    throw new AppError('ERR_TX_INVALID', { detail: 'login cookie has an unexpected shape' })
  }
  if (!isEqualText(transaction.state, expectedState)) {
    throw new AppError('ERR_OIDC_STATE_MISMATCH', {
      detail: 'state does not match the login cookie',
    })
  }
  return transaction
}

function isTransaction(value: unknown): value is Transaction {
  const tx = value as Transaction | undefined
  return (
    typeof tx?.state === 'string' &&
    typeof tx.nonce === 'string' &&
    typeof tx.codeVerifier === 'string' &&
    typeof tx.request?.roomSafe === 'string'
  )
}

function isEqualText(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}
