/**
 * The error catalogue. Every failure a user or an admin can see has a stable code here, with the
 * HTTP status it answers with and one sentence for the user. Codes are never renamed or reused:
 * admins alert on them and tests switch on them.
 */
export const errorCatalogue = {
  ERR_CONFIG_INVALID: {
    status: 500,
    message: 'The sign-in service is not configured correctly.',
  },
  ERR_JITSI_ROOM_MISSING: {
    status: 400,
    message: 'No meeting room was given. Open the meeting first, then choose "Log in".',
  },
  ERR_JITSI_ROOM_INVALID: {
    status: 400,
    message: 'The meeting room name is not valid.',
  },
  ERR_JITSI_TENANT_INVALID: {
    status: 400,
    message: 'The meeting address is not valid.',
  },
  ERR_JITSI_STATE_INVALID: {
    status: 400,
    message: 'The sign-in request from the meeting page could not be read.',
  },
  ERR_JITSI_TOKEN_INVALID: {
    status: 500,
    message: 'The meeting token could not be created.',
  },
  ERR_TX_MISSING: {
    status: 400,
    message: 'This sign-in has expired or was already used. Please start again from the meeting.',
  },
  ERR_TX_INVALID: {
    status: 400,
    message: 'This sign-in could not be verified. Please start again from the meeting.',
  },
  ERR_OIDC_STATE_MISMATCH: {
    status: 400,
    message: 'This sign-in could not be verified. Please start again from the meeting.',
  },
  ERR_OIDC_ACCESS_DENIED: {
    status: 403,
    message: 'Sign-in was cancelled.',
  },
  ERR_OIDC_PROVIDER_ERROR: {
    status: 400,
    message: 'The identity provider refused the sign-in.',
  },
  ERR_OIDC_CALLBACK_INVALID: {
    status: 400,
    message: 'The answer from the identity provider was not valid.',
  },
  ERR_OIDC_CODE_REJECTED: {
    status: 400,
    message: 'The identity provider did not accept this sign-in. Please start again.',
  },
  ERR_OIDC_ID_TOKEN_INVALID: {
    status: 400,
    message: 'The identity provider sent a sign-in that could not be verified.',
  },
  ERR_OIDC_ID_TOKEN_MISSING: {
    status: 400,
    message: 'The identity provider did not send an ID token.',
  },
  ERR_OIDC_USERINFO_INVALID: {
    status: 400,
    message: 'The identity provider sent user details that could not be verified.',
  },
  ERR_OIDC_PROVIDER_UNAVAILABLE: {
    status: 503,
    message: 'The identity provider is not available right now. Please try again in a moment.',
  },
  ERR_OIDC_PROVIDER_BAD_RESPONSE: {
    status: 502,
    message: 'The identity provider sent an answer that could not be used.',
  },
  ERR_OIDC_PROVIDER_TIMEOUT: {
    status: 504,
    message: 'The identity provider did not answer in time. Please try again.',
  },
  ERR_OIDC_CLIENT_REJECTED: {
    status: 502,
    message:
      'The identity provider did not accept this service. An administrator needs to check its settings.',
  },
  ERR_OIDC_LOGIN_REQUIRED: {
    status: 400,
    message: 'The identity provider asks you to sign in again.',
  },
  ERR_POLICY_DENIED: {
    status: 403,
    message: 'You are signed in, but you are not allowed to host meetings here.',
  },
  ERR_HTTP_NOT_FOUND: {
    status: 404,
    message: 'This page does not exist.',
  },
  ERR_HTTP_METHOD_NOT_ALLOWED: {
    status: 405,
    message: 'This address only answers GET requests.',
  },
  ERR_HTTP_BAD_REQUEST: {
    status: 400,
    message: 'The request was not valid.',
  },
  ERR_HTTP_RATE_LIMITED: {
    status: 429,
    message: 'Too many sign-in attempts. Please wait a moment and try again.',
  },
  ERR_INTERNAL: {
    status: 500,
    message: 'Something went wrong.',
  },
  ERR_OIDC_ISSUER_MISMATCH: {
    status: 502,
    message:
      'The identity provider is not set up as this service expects. An administrator needs to check its settings.',
  },
  ERR_HTTP_URI_TOO_LONG: {
    status: 414,
    message: 'The address of this request is too long.',
  },
  ERR_HTTP_HEADERS_TOO_LARGE: {
    status: 431,
    message: "The request carries too much header data. Clearing this site's cookies may help.",
  },
} as const satisfies Record<string, { status: number; message: string }>

export type ErrorCode = keyof typeof errorCatalogue

export interface AppErrorOptions {
  /** Internal detail for the log; never shown to users. */
  cause?: unknown
  /** A short, safe explanation for the admin's log line (no secrets, no tokens). */
  detail?: string
}

/** The one error type our code throws. `code` is stable; `detail` and `cause` stay internal. */
export class AppError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly detail: string | undefined
  /** 4xx errors are the user's or the request's fault and may be explained to them. */
  readonly expose: boolean

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(options.detail ?? errorCatalogue[code].message, { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.status = errorCatalogue[code].status
    this.detail = options.detail
    this.expose = this.status < 500
  }

  get userMessage(): string {
    return errorCatalogue[this.code].message
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError
}
