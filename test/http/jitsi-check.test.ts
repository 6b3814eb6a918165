import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'

import { fillJitsiFile } from '../../src/cli/check.js'
import { startDevIdp, type DevIdp } from '../../demo/idp.js'
import { findFreePort } from '../support/harness.js'

const mainJs = new URL('../../src/cli/main.js', import.meta.url).pathname
const shipped = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8')

function runCheckCommand(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [mainJs, 'check'], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const baseEnv = {
  OIDC_ALLOW_HTTP: 'true',
  OIDC_CLIENT_ID: 'jitsi-check',
  OIDC_CLIENT_SECRET: 'check-client-secret-0123456789',
  JITSI_BASE_URL: 'https://meet.example.org',
  JWT_APP_ID: 'prosody_app',
  JWT_AUDIENCE: 'meet-audience',
  JWT_APP_SECRET: 'check-app-secret-0123456789abcdef',
  HOST: '127.0.0.1',
  PORT: '8123',
}

describe('the check command', () => {
  let idp: DevIdp
  before(async () => {
    idp = await startDevIdp({ clients: [{ client_id: 'jitsi-check', redirect_uris: [] }] })
  })
  after(() => idp.close())

  it('passes against a reachable provider and prints the shipped Jitsi files with this configuration', async () => {
    const { code, stdout } = await runCheckCommand({ ...baseEnv, OIDC_ISSUER_URL: idp.issuer })

    assert.equal(code, 0, stdout)
    assert.doesNotMatch(stdout, /^FAIL/m)
    assert.match(
      stdout,
      new RegExp(
        `^ok {3}provider ${idp.issuer}: discovery and JWKS loaded \\(userinfo, logout available\\)$`,
        'm',
      ),
    )
    assert.match(stdout, /^ {2}redirect URI: {13}https:\/\/meet\.example\.org\/oidc\/redirect$/m)
    assert.match(stdout, /^ {2}post-logout redirect URI: https:\/\/meet\.example\.org\/$/m)

    const configJs = shipped('jitsi/meet/config.js')
      .replaceAll('https://meet.example.com/', 'https://meet.example.org/')
      .replaceAll('guest.meet.example.com', 'guest.meet.example.org')
    assert.ok(stdout.includes(`--- Jitsi config.js: jitsi/meet/config.js ---\n${configJs}`))
    assert.match(
      stdout,
      /^config\.tokenAuthUrl = 'https:\/\/meet\.example\.org\/oidc\/auth\?state=\{state\}';$/m,
    )
    assert.match(
      stdout,
      /^config\.tokenLogoutUrl = 'https:\/\/meet\.example\.org\/oidc\/logout';$/m,
    )

    const location = shipped('jitsi/nginx/jitsi-oidc-location.conf')
    assert.ok(stdout.includes(`jitsi/nginx/jitsi-oidc-location.conf ---\n${location}`))
    const http = shipped('jitsi/nginx/jitsi-oidc-http.conf').replace(
      'server 127.0.0.1:8000;',
      'server 127.0.0.1:8123;',
    )
    assert.ok(stdout.includes(`jitsi/nginx/jitsi-oidc-http.conf ---\n${http}`))
    assert.match(stdout, /set \$jitsi_oidc_adapter http:\/\/jitsi-oidc-adapter:8123;/)
    assert.match(stdout, /^# Docker network \(meet\.jitsi\), listening on port 8123\.$/m)

    for (const line of [
      '    app_id = "prosody_app"',
      '    asap_accepted_issuers = { "prosody_app" }',
      '    asap_accepted_audiences = { "meet-audience" }',
      '    signature_algorithm = "HS256"',
      'VirtualHost "meet.example.org"',
      'VirtualHost "guest.meet.example.org"',
      'JWT_APP_ID=prosody_app',
      'JWT_ACCEPTED_ISSUERS=prosody_app',
      'JWT_ACCEPTED_AUDIENCES=meet-audience',
      'TOKEN_AUTH_URL=https://meet.example.org/oidc/auth?state={state}',
    ]) {
      assert.ok(stdout.split('\n').includes(line), `missing line: ${line}`)
    }
    assert.doesNotMatch(stdout, /meet\.example\.com|jitsi_app|check-app-secret/)
  })

  it('warns when the adapter is not on the Jitsi origin, which popup mode needs', async () => {
    const { code, stdout } = await runCheckCommand({
      ...baseEnv,
      OIDC_ISSUER_URL: idp.issuer,
      ADAPTER_PUBLIC_URL: 'https://auth.example.org',
    })
    assert.equal(code, 0)
    assert.match(
      stdout,
      /^WARN ADAPTER_PUBLIC_URL \(https:\/\/auth\.example\.org\) is not on the Jitsi origin/m,
    )
    assert.match(
      stdout,
      /^config\.tokenAuthUrl = 'https:\/\/auth\.example\.org\/oidc\/auth\?state=\{state\}';$/m,
    )
  })

  it('warns, as serve does, about scopes the provider does not list (K14)', async () => {
    const { code, stdout } = await runCheckCommand({
      ...baseEnv,
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_SCOPES: 'openid profile email no-such-scope',
    })
    assert.equal(code, 0)
    assert.match(
      stdout,
      /^WARN OIDC_SCOPES names scopes the provider does not list.*: no-such-scope$/m,
    )
  })

  it('switches on the Prosody, Jicofo and docker lines a moderator rule needs', async () => {
    const plain = await runCheckCommand({ ...baseEnv, OIDC_ISSUER_URL: idp.issuer })
    assert.match(plain.stdout, /^#XMPP_MUC_MODULES=token_affiliation$/m)
    assert.match(plain.stdout, /^ {4}-- wait_for_host_disable_auto_owners = true$/m)

    const { code, stdout } = await runCheckCommand({
      ...baseEnv,
      OIDC_ISSUER_URL: idp.issuer,
      MODERATOR_GROUPS: 'moderators',
    })
    assert.equal(code, 0)
    assert.match(stdout, /^WARN MODERATOR_\* or room moderator rules are set/m)
    for (const line of [
      'XMPP_MUC_MODULES=token_affiliation',
      'WAIT_FOR_HOST_DISABLE_AUTO_OWNERS=1',
      'ENABLE_AUTO_OWNER=0',
      'JICOFO_ENABLE_AUTH=0',
      '    wait_for_host_disable_auto_owners = true',
    ]) {
      assert.ok(stdout.split('\n').includes(line), `missing line: ${line}`)
    }
  })

  it('exits 1 with a FAIL line when the provider is down', async () => {
    const port = await findFreePort()
    const { code, stdout } = await runCheckCommand({
      ...baseEnv,
      OIDC_ISSUER_URL: `http://127.0.0.1:${port}`,
      OIDC_TIMEOUT_SECONDS: '2',
    })
    assert.equal(code, 1)
    assert.match(stdout, /^FAIL provider not usable: ERR_OIDC_PROVIDER_UNAVAILABLE: /m)
  })

  it('exits 2 and names every problem when the configuration is invalid', async () => {
    const { code, stdout, stderr } = await runCheckCommand({
      ...baseEnv,
      OIDC_ISSUER_URL: idp.issuer,
      JITSI_BASE_URL: 'not a url',
      JWT_APP_ID: '',
    })
    assert.equal(code, 2)
    assert.equal(stdout, '')
    assert.match(stderr, /configuration problem\(s\):/)
    assert.match(stderr, /JITSI_BASE_URL/)
  })

  it('fails when a shipped file is missing or no longer has the value it fills in', () => {
    assert.deepEqual(fillJitsiFile({ path: 'jitsi/absent.conf', heading: 'x', replacements: [] }), {
      ok: false,
      text: 'shipped file jitsi/absent.conf cannot be read (ENOENT)',
    })
    assert.deepEqual(
      fillJitsiFile({
        path: 'jitsi/meet/config.js',
        heading: 'x',
        replacements: [['config.somethingElse', 'y']],
      }),
      {
        ok: false,
        text: 'shipped file jitsi/meet/config.js no longer contains "config.somethingElse"',
      },
    )
  })
})
