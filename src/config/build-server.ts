import { createHash, hkdfSync } from 'node:crypto'
import { accessSync, constants, statSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname } from 'node:path'

import { describeMissingLogDirectory } from '../log.js'
import type { ConfigProblems } from './load.js'
import type { SettingReader } from './reader.js'
import type { ServerConfig } from './types.js'

const hostName =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/**
 * A listen address must be an IP address or a host name; one that cannot be is reported with
 * the other settings, where otherwise only the listen call would fail, after start-up.
 */
function checkListenHost(read: SettingReader, problems: ConfigProblems, name: string): void {
  const host = read.string(name)
  // Digits and dots only is meant as an IPv4 address, and 999.1.1.1 is none.
  const looksNumeric = /^[\d.]+$/.test(host ?? '')
  if (host === undefined || isIP(host) !== 0 || (hostName.test(host) && !looksNumeric)) return
  const bracketed = /^\[(.*)\]$/.exec(host)?.[1]
  problems.add(
    read.origin(name),
    bracketed !== undefined && isIP(bracketed) === 6
      ? `must be an address without brackets, e.g. "${bracketed}", got "${host}"`
      : `must be an IP address (e.g. "127.0.0.1", "0.0.0.0", "::") or a host name, got "${host}"`,
  )
}

/**
 * LOG_FILE's directory must exist and be writable, and the file, when it exists, be a writable
 * file: checked here without creating anything, so the problem is listed with the others.
 * Opening the file at start-up stays the final word.
 */
function checkLogFilePath(read: SettingReader, problems: ConfigProblems): void {
  const file = read.string('LOG_FILE')
  if (file === undefined) return
  const directory = dirname(file)
  let fix: string | undefined
  try {
    if (!statSync(directory).isDirectory()) fix = `"${directory}" is not a directory`
    else accessSync(directory, constants.W_OK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    fix =
      code === 'ENOENT'
        ? describeMissingLogDirectory(directory)
        : `its directory "${directory}" is not writable (${code ?? 'error'})`
  }
  try {
    if (!fix && statSync(file).isDirectory()) fix = `"${file}" is a directory`
    if (!fix) accessSync(file, constants.W_OK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') fix = `"${file}" is not writable (${code ?? 'error'})`
  }
  if (fix)
    problems.add(
      read.origin('LOG_FILE'),
      `cannot be written: ${fix}, or remove it to log to stdout`,
    )
}

/** The listener, the proxies it trusts and the login cookie's key. */
export function buildServerConfig(
  read: SettingReader,
  problems: ConfigProblems,
  adapterPublicUrl: URL | undefined,
  appSecret: Uint8Array | undefined,
): ServerConfig | undefined {
  const cookieSecret = read.string('COOKIE_SECRET')
  if (cookieSecret !== undefined && cookieSecret.length < 32) {
    problems.add(
      read.origin('COOKIE_SECRET'),
      `must be at least 32 characters, got a value of ${cookieSecret.length} characters; generate one with "openssl rand -hex 32"`,
    )
  }
  // Checked before the early return, so their problems are listed with all the others.
  const trustProxy = parseTrustProxy(read, problems)
  checkListenHost(read, problems, 'HOST')
  checkListenHost(read, problems, 'METRICS_HOST')
  checkLogFilePath(read, problems)
  if (!appSecret) return undefined

  // Replicas that share the app secret derive the same cookie key, so any of them can finish a
  // login another started; the label keeps this key apart from the token's HMAC key.
  const material = cookieSecret ? new TextEncoder().encode(cookieSecret) : appSecret
  const cookieKey = new Uint8Array(
    hkdfSync(
      'sha256',
      material,
      createHash('sha256').update('jitsi-oidc-adapter').digest(),
      'login-transaction-cookie',
      32,
    ),
  )

  return {
    host: read.string('HOST')!,
    port: read.integer('PORT'),
    trustProxy,
    cookieKey,
    secureCookies: adapterPublicUrl?.protocol === 'https:',
    shutdownTimeoutSeconds: read.integer('SHUTDOWN_TIMEOUT_SECONDS'),
  }
}

/** Names proxy-addr (fastify's trustProxy) knows, besides addresses and CIDR ranges. */
const proxyRangeNames = new Set(['loopback', 'linklocal', 'uniquelocal'])

function parseTrustProxy(
  read: SettingReader,
  problems: ConfigProblems,
): ServerConfig['trustProxy'] {
  const value = read.string('TRUST_PROXY')!
  if (/^(false|no|off|0)$/i.test(value)) return false
  if (/^(true|yes|on|1)$/i.test(value)) return true

  const list = value.split(/[\s,]+/).filter((item) => item !== '')
  const invalid = list.filter((item) => !proxyRangeNames.has(item) && !isAddressOrRange(item))
  if (invalid.length > 0) {
    problems.add(
      read.origin('TRUST_PROXY'),
      `must be loopback, false, true, or a comma list of addresses and CIDR ranges (e.g. "10.0.0.0/8"), got ${invalid.map((item) => `"${item}"`).join(', ')}`,
    )
  }
  return list.length === 1 ? list[0]! : list
}

function isAddressOrRange(item: string): boolean {
  const [address, bits, extra] = item.split('/')
  const family = isIP(address ?? '')
  if (family === 0 || extra !== undefined) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}
