import { closeSync, openSync } from 'node:fs'
import { dirname } from 'node:path'

import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino'

import { isAppError } from './errors.js'

export type { Logger } from 'pino'

export interface LogSettings {
  level: string
  format: 'auto' | 'json' | 'pretty'
  file?: string
  /** The name `file` was set under (`LOG_FILE` or an INI key), for messages. */
  fileSetting?: string
  fileMode: 'a' | 'w'
}

/**
 * Keys pino blanks out if a credential ever reaches a log call. This is only the second layer:
 * every line is built from chosen fields, nested objects reach the log only through the
 * serializers below (which copy no header, body or token), and the leak tests scan the log of
 * every login path. The paths are exact, not wildcards: pino's redaction clones the line for
 * each `*.key` path, which at 19 of them cost ~22 µs and ~53 KB of garbage per line, a fifth
 * of all the memory a login allocated. `code` is not here: at the top level it is our error
 * code, and the authorization code is never logged (URLs are logged without their query).
 */
const redactPaths = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'client_secret',
  'clientSecret',
  'state',
  'nonce',
  'id_token',
  'idToken',
  'access_token',
  'accessToken',
  'refresh_token',
  'refreshToken',
  'jwt',
  'token',
  'secret',
  'code_verifier',
]

interface RequestLike {
  id?: string
  method?: string
  url?: string
  ip?: string
}

/** Drops the query string: on the callback it carries the authorization code. */
export function stripQuery(url: string | undefined): string | undefined {
  if (url === undefined) return undefined
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}

export const serializers = {
  req: (req: RequestLike) => ({
    method: req.method,
    url: stripQuery(req.url),
    remoteAddress: req.ip,
  }),
  // The access line is the only line per request (fastify's "incoming request" line is off), so
  // it names the request too; `reply.request` is how fastify's reply reaches it.
  res: (res: { statusCode?: number; request?: RequestLike }) => ({
    statusCode: res.statusCode,
    ...(res.request ? { method: res.request.method, url: stripQuery(res.request.url) } : {}),
  }),
  // Library errors can carry whole token responses or claim sets (jose claim errors do), so
  // only the type, our code and the message ever reach the log.
  err: (error: unknown) => {
    if (!(error instanceof Error)) return { type: typeof error, message: String(error) }
    return {
      type: error.name,
      ...(isAppError(error) ? { code: error.code } : {}),
      message: error.message,
    }
  },
}

export function buildLoggerOptions(settings: Pick<LogSettings, 'level'>): LoggerOptions {
  return {
    level: settings.level,
    serializers,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { service: 'jitsi-oidc-adapter' },
  }
}

/**
 * `auto` is pretty only for a person at a terminal: anything reading stdout through a pipe
 * (journald, docker, kubectl logs, a log shipper) or a log file gets JSON lines.
 */
export function resolveLogFormat(
  settings: Pick<LogSettings, 'format' | 'file'>,
  stdoutIsTTY: boolean,
): 'json' | 'pretty' {
  if (settings.format !== 'auto') return settings.format
  return stdoutIsTTY && !settings.file ? 'pretty' : 'json'
}

/**
 * Creates the process logger: JSON lines to stdout by default, to `file` when set (reopened
 * on SIGHUP so logrotate can move it), or human-readable lines (see `resolveLogFormat`).
 */
export async function createLogger(
  settings: LogSettings,
): Promise<{ logger: Logger; reopen: () => void }> {
  if (settings.file) assertLogFileWritable(settings.file, settings.fileSetting)
  const destination: DestinationStream & { reopen?: () => void } = settings.file
    ? pino.destination({ dest: settings.file, append: settings.fileMode === 'a' })
    : pino.destination(1)
  // The pretty printer is loaded only when used: a JSON-logging service does not carry it.
  const stream =
    resolveLogFormat(settings, process.stdout.isTTY === true) === 'pretty'
      ? (await import('pino-pretty')).default({
          destination,
          colorize: !settings.file && process.stdout.isTTY,
        })
      : destination

  return {
    logger: pino(buildLoggerOptions(settings), stream),
    reopen: () => destination.reopen?.(),
  }
}

/** The fix for a LOG_FILE whose directory is missing, said the same at every check. */
export function describeMissingLogDirectory(directory: string): string {
  return `its directory "${directory}" does not exist: create it, writable by the service, or correct the path`
}

/**
 * Opens LOG_FILE once, so a path that cannot be written stops start-up with the setting named
 * as the admin wrote it (`setting`: `LOG_FILE`, or the INI key), instead of an unhandled stream
 * error later. A missing directory is not created: it is more often a typing error than a wish
 * (the systemd unit has systemd create /var/log/jitsi-oidc-adapter).
 */
export function assertLogFileWritable(file: string, setting = 'LOG_FILE'): void {
  try {
    closeSync(openSync(file, 'a'))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error'
    const fix =
      code === 'ENOENT'
        ? describeMissingLogDirectory(dirname(file))
        : 'name a file in a directory the service can write'
    throw new Error(
      `${setting}: cannot open "${file}" for writing (${code}); ${fix}, or remove ${setting} to log to stdout`,
    )
  }
}
