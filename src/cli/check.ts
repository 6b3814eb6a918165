import { readFileSync } from 'node:fs'

import { pino } from 'pino'

import type { Config } from '../config/index.js'
import { describeLegacySetting } from '../config/legacy.js'
import { isAppError } from '../errors.js'
import { assertLogFileWritable } from '../log.js'
import { assertProsodyAccepts, buildJitsiClaims, signJitsiToken } from '../jitsi/token.js'
import { OidcProvider } from '../oidc/provider.js'

interface CheckLine {
  ok: boolean
  /** Valid but worth the admin's attention: printed as WARN, does not fail the check. */
  warn?: boolean
  text: string
}

/** The Jitsi-side files shipped in `jitsi/`, as `check` prints them. */
export interface JitsiFile {
  /** Path inside the package, e.g. `jitsi/meet/config.js`. */
  path: string
  heading: string
  /** Example values in the shipped file and what this configuration puts in their place. */
  replacements: Array<[example: string, value: string]>
}

/** Where the shipped `jitsi/` folder is: next to `dist/` in a checkout and in the package. */
export const jitsiFolder = new URL('../../../jitsi/', import.meta.url)

/**
 * `jitsi-oidc-adapter check`: validates what can be validated without a browser (the
 * configuration, discovery and JWKS, a sample token against Prosody's rules, the shipped
 * `jitsi/` files) and prints the Jitsi, Prosody and nginx settings for this configuration,
 * built from those files. Returns the exit code: 0 when every check passed, else 1.
 */
export async function runCheck(
  config: Config,
  out: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const lines: CheckLine[] = [{ ok: true, text: 'configuration is valid' }]
  for (const warning of config.warnings) lines.push({ ok: true, warn: true, text: warning })
  for (const legacy of config.legacy) {
    lines.push({ ok: true, text: `legacy setting ${describeLegacySetting(legacy)}` })
  }
  if (config.jitsi.adapterPublicUrl.origin !== config.jitsi.baseUrl.origin) {
    lines.push({
      ok: true,
      warn: true,
      text: `ADAPTER_PUBLIC_URL (${config.jitsi.adapterPublicUrl.origin}) is not on the Jitsi origin (${config.jitsi.baseUrl.origin}): popup mode (tokenAuthInline) and its logout need the adapter under the Jitsi site's /oidc/`,
    })
  }

  if (config.logging.file) lines.push(checkLogFile(config.logging.file, config.logging.fileSetting))
  lines.push(...(await checkProvider(config)))
  lines.push(await checkSampleToken(config))
  const files = buildJitsiFiles(config).map((file) => fillJitsiFile(file))
  for (const file of files) if (!file.ok) lines.push(file)

  for (const line of lines)
    out(`${line.ok ? (line.warn ? 'WARN' : 'ok  ') : 'FAIL'} ${line.text}\n`)
  out(`\nRegister at the provider:
  redirect URI:             ${config.jitsi.redirectUri}
  post-logout redirect URI: ${config.jitsi.baseUrl.href}
`)
  for (const file of files) if (file.ok) out(`\n${file.text}`)
  out(`
Tokens carry sub "${config.token.subject}" (tenant rooms: the lower-cased tenant): with domain
verification on, that must be the XMPP domain (Debian: the Jitsi host; docker: meet.jitsi).
`)
  return lines.every((line) => line.ok) ? 0 : 1
}

function checkLogFile(file: string, setting: string): CheckLine {
  try {
    assertLogFileWritable(file, setting)
    return { ok: true, text: `log file ${file} is writable` }
  } catch (error) {
    return { ok: false, text: (error as Error).message }
  }
}

async function checkProvider(config: Config): Promise<CheckLine[]> {
  // What serve would warn about once it meets the provider (scopes it does not list, ...).
  const warnings: CheckLine[] = []
  const collect = (line: string) => {
    const { level, event, msg, scopes } = JSON.parse(line) as Record<string, unknown>
    if (level !== 40 || event === 'oidc.unavailable') return
    const detail = Array.isArray(scopes) ? `: ${scopes.join(', ')}` : ''
    warnings.push({ ok: true, warn: true, text: `${String(msg)}${detail}` })
  }
  const provider = new OidcProvider(config.oidc, pino({ level: 'warn' }, { write: collect }))
  await provider.start()
  provider.stop()
  return [describeProvider(provider), ...warnings]
}

function describeProvider(provider: OidcProvider): CheckLine {
  const status = provider.status
  if (status.state === 'ready') {
    const metadata = provider.requireConfiguration().serverMetadata()
    const extras = [
      metadata.userinfo_endpoint ? 'userinfo' : '',
      metadata.end_session_endpoint ? 'logout' : '',
    ].filter(Boolean)
    return {
      ok: true,
      text: `provider ${status.issuer}: discovery and JWKS loaded${extras.length ? ` (${extras.join(', ')} available)` : ''}`,
    }
  }
  return {
    ok: false,
    text: `provider not usable: ${status.state === 'unavailable' ? `${status.code}: ${status.reason}` : status.state}`,
  }
}

async function checkSampleToken(config: Config): Promise<CheckLine> {
  const nowSeconds = Math.floor(Date.now() / 1000)
  const request = { roomSafe: 'checkroom' }
  try {
    const claims = buildJitsiClaims({
      request,
      user: { id: 'check', name: 'Check', moderator: true },
      settings: config.token,
      nowSeconds,
    })
    const token = await signJitsiToken(claims, config.token)
    assertProsodyAccepts(token, { settings: config.token, roomSafe: request.roomSafe, nowSeconds })
    return {
      ok: true,
      text: `sample token passes Prosody's rules (alg ${config.token.algorithm}, iss "${claims.iss}", aud "${claims.aud}", sub "${claims.sub}", room "${claims.room}", ${token.length} bytes)`,
    }
  } catch (error) {
    return { ok: false, text: `sample token: ${isAppError(error) ? error.message : String(error)}` }
  }
}

/** nginx connects to a wildcard listener through loopback. */
function buildUpstreamAddress(config: Config): string {
  const host = config.server.host
  if (host === '0.0.0.0' || host === '') return `127.0.0.1:${config.server.port}`
  if (host === '::') return `[::1]:${config.server.port}`
  return `${host.includes(':') ? `[${host}]` : host}:${config.server.port}`
}

/**
 * The shipped files with this configuration's values: the adapter URL, Jitsi host, app id,
 * issuer, audience, algorithm and listener. Secrets stay placeholders.
 */
export function buildJitsiFiles(config: Config): JitsiFile[] {
  const adapter = config.jitsi.adapterPublicUrl.href
  const jitsiHost = config.jitsi.baseUrl.hostname
  const appIdSetting = config.settings.get('JWT_APP_ID')?.value
  const appId = typeof appIdSetting === 'string' ? appIdSetting : config.token.issuer
  const { issuer, audience, algorithm } = config.token
  // With a moderator rule the lines that let the token's affiliation decide are switched on
  // (JITSI.md §7): otherwise Jitsi makes every token user owner and the rule does nothing.
  const moderated =
    config.policy.moderators.length > 0 ||
    config.policy.rooms.some((rule) => rule.moderators !== undefined)
  const enable = (line: string): [string, string] => [
    line,
    moderated ? line.replace(/^(\s*)(--\s|#)/, '$1') : line,
  ]

  return [
    {
      path: 'jitsi/meet/config.js',
      heading: 'Jitsi config.js',
      replacements: [
        ['https://meet.example.com/', adapter],
        ['guest.meet.example.com', `guest.${jitsiHost}`],
      ],
    },
    {
      path: 'jitsi/docker/jitsi-oidc.env',
      heading: 'docker-jitsi-meet .env',
      replacements: [
        ['JWT_APP_ID=jitsi_app', `JWT_APP_ID=${appId}`],
        ['JWT_ACCEPTED_ISSUERS=jitsi_app', `JWT_ACCEPTED_ISSUERS=${issuer}`],
        ['JWT_ACCEPTED_AUDIENCES=jitsi\n', `JWT_ACCEPTED_AUDIENCES=${audience}\n`],
        ['JWT_SIGN_TYPE=HS256', `JWT_SIGN_TYPE=${algorithm}`],
        ['https://meet.example.com/', adapter],
        enable('#XMPP_MUC_MODULES=token_affiliation'),
        enable('#WAIT_FOR_HOST_DISABLE_AUTO_OWNERS=1'),
        enable('#ENABLE_AUTO_OWNER=0'),
        enable('#JICOFO_ENABLE_AUTH=0'),
      ],
    },
    {
      path: 'jitsi/prosody/jitsi-oidc.cfg.lua',
      heading: 'Prosody (Debian)',
      replacements: [
        ['app_id = "jitsi_app"', `app_id = "${appId}"`],
        ['asap_accepted_issuers = { "jitsi_app" }', `asap_accepted_issuers = { "${issuer}" }`],
        ['asap_accepted_audiences = { "jitsi" }', `asap_accepted_audiences = { "${audience}" }`],
        ['signature_algorithm = "HS256"', `signature_algorithm = "${algorithm}"`],
        enable('    -- wait_for_host_disable_auto_owners = true'),
        ['meet.example.com', jitsiHost],
      ],
    },
    {
      path: 'jitsi/nginx/jitsi-oidc-http.conf',
      heading: 'nginx, http block (Debian)',
      replacements: [['server 127.0.0.1:8000;', `server ${buildUpstreamAddress(config)};`]],
    },
    {
      path: 'jitsi/nginx/jitsi-oidc-location.conf',
      heading: "nginx, the Jitsi site's server block (Debian)",
      replacements: [],
    },
    {
      path: 'jitsi/docker/custom-meet.conf',
      heading: 'nginx, docker-jitsi-meet',
      replacements: [
        ['listening on port 8000.', `listening on port ${config.server.port}.`],
        ['jitsi-oidc-adapter:8000', `jitsi-oidc-adapter:${config.server.port}`],
      ],
    },
  ]
}

/** Reads a shipped file and puts the values in; a file changed out of shape is a failure. */
export function fillJitsiFile(file: JitsiFile): CheckLine {
  let text: string
  try {
    text = readFileSync(new URL(file.path.replace(/^jitsi\//, ''), jitsiFolder), 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    return { ok: false, text: `shipped file ${file.path} cannot be read (${code})` }
  }

  for (const [example, value] of file.replacements) {
    if (!text.includes(example)) {
      return { ok: false, text: `shipped file ${file.path} no longer contains "${example.trim()}"` }
    }
    text = text.split(example).join(value)
  }
  return { ok: true, text: `--- ${file.heading}: ${file.path} ---\n${text}` }
}
