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

/**
 * Each login gets its own cookie, named after its state, so that two logins started in two
 * tabs do not overwrite each other. The name shows nothing of the state itself.
 */
export function buildTransactionCookieName(state: string): string {
  return (
    transactionCookiePrefix + createHash('sha256').update(state).digest('base64url').slice(0, 16)
  )
}

/**
 * Seals a transaction with authenticated encryption (JWE `dir` + A256GCM), so the browser can
 * carry it and any replica that shares the key can open it: no server-side session store.
 */
export async function sealTransaction(
  transaction: Transaction,
  key: TransactionKey | Uint8Array,
  nowSeconds: number,
): Promise<string> {
  return new EncryptJWT({ tx: transaction })
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + transactionTtlSeconds)
    .encrypt(key)
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
    const { payload } = await jwtDecrypt(sealed, key, {
      currentDate: new Date(nowSeconds * 1000),
      contentEncryptionAlgorithms: ['A256GCM'],
      keyManagementAlgorithms: ['dir'],
    })
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
