import { pino } from 'pino'

import type { Config } from '../config/index.js'
import { isAppError } from '../errors.js'
import { assertProsodyAccepts, buildJitsiClaims, signJitsiToken } from '../jitsi/token.js'
import { OidcProvider } from '../oidc/provider.js'

interface CheckLine {
  ok: boolean
  text: string
}

/**
 * `jitsi-oidc-adapter check`: validates what can be validated without a browser (the
 * configuration, discovery and JWKS, a sample token against Prosody's rules) and prints the
 * Jitsi, nginx and Prosody settings that match this configuration. Returns the exit code.
 */
export async function runCheck(
  config: Config,
  out: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const lines: CheckLine[] = [{ ok: true, text: 'configuration is valid' }]
  for (const warning of config.warnings) lines.push({ ok: true, text: `warning: ${warning}` })
  for (const legacy of config.legacy) {
    lines.push({
      ok: true,
      text: legacy.target
        ? `legacy setting ${legacy.name} (${legacy.from}) is read as ${legacy.target}; rename it when convenient`
        : `legacy setting ${legacy.name} (${legacy.from}): ${legacy.note}`,
    })
  }

  lines.push(await checkProvider(config))
  lines.push(await checkSampleToken(config))

  for (const line of lines) out(`${line.ok ? 'ok  ' : 'FAIL'} ${line.text}\n`)
  out(`\n${buildSnippets(config)}`)
  return lines.every((line) => line.ok) ? 0 : 1
}

async function checkProvider(config: Config): Promise<CheckLine> {
  const provider = new OidcProvider(config.oidc, pino({ level: 'silent' }))
  await provider.start()
  provider.stop()

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

function buildSnippets(config: Config): string {
  const adapter = config.jitsi.adapterPublicUrl.href
  const upstream = `http://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${config.server.port}`
  const secretLength = new TextDecoder().decode(config.token.secret).length

  return `Register this redirect URI at the provider:
  ${config.jitsi.redirectUri}

Jitsi config.js (Debian: /etc/jitsi/meet/<domain>-config.js; docker: custom-config.js):
  config.tokenAuthUrl = '${adapter}oidc/auth?state={state}';
  config.tokenLogoutUrl = '${adapter}oidc/logout';

docker-jitsi-meet .env:
  ENABLE_AUTH=1
  AUTH_TYPE=jwt
  ENABLE_GUESTS=1
  JWT_APP_ID=${config.token.issuer}
  JWT_APP_SECRET=<the value of JWT_APP_SECRET, ${secretLength} characters>
  JWT_ACCEPTED_ISSUERS=${config.token.issuer}
  JWT_ACCEPTED_AUDIENCES=${config.token.audience}
  TOKEN_AUTH_URL=${adapter}oidc/auth?state={state}

Prosody (Debian: /etc/prosody/conf.d/<domain>.cfg.lua, on the main VirtualHost):
  authentication = "token"
  app_id = "${config.token.issuer}"
  app_secret = "<the value of JWT_APP_SECRET>"
  signature_algorithm = "${config.token.algorithm}"
  asap_accepted_issuers = { "${config.token.issuer}" }
  asap_accepted_audiences = { "${config.token.audience}" }
  -- tokens carry sub "${config.token.subject}" (tenant rooms: the lower-cased tenant)

nginx, inside the Jitsi site's server block (see jitsi/nginx/):
  location /oidc/ {
      proxy_pass ${upstream};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
  }
`
}
