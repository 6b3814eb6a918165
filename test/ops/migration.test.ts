import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'

import { pino } from 'pino'

import { runCheck } from '../../src/cli/check.js'
import { startService } from '../../src/cli/serve.js'
import { buildConfig, ConfigError, type Config } from '../../src/config/index.js'
import { buildLoggerOptions } from '../../src/log.js'
import { findFreePort } from '../support/harness.js'
import { parseLogLines, repoRoot } from './support.js'

const fixture = join(repoRoot, 'test/fixtures/python-app.conf')

/** Starts the service with this config just long enough to collect its start-up lines. */
async function collectStartupLines(config: Config): Promise<Array<Record<string, unknown>>> {
  let text = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString()
      done()
    },
  })
  const service = await startService({
    config,
    logger: pino(buildLoggerOptions(config.logging), stream),
  })
  await service.close()
  return parseLogLines(text)
}

async function collectCheckLines(config: Config): Promise<string[]> {
  let text = ''
  await runCheck(config, (chunk) => (text += chunk))
  return text.split('\n')
}

/** An issuer nobody listens on: start-up and `check` fail fast to reach it, which is fine here. */
async function unreachableIssuer(): Promise<string> {
  return `https://127.0.0.1:${await findFreePort()}/realms/jitsi`
}

describe("the Python adapter's app.conf", () => {
  const config = buildConfig({
    env: {},
    ini: { path: fixture, text: readFileSync(fixture, 'utf8') },
  })

  it('loads unchanged, trailing comments and placeholder endpoints included', () => {
    assert.equal(config.oidc.clientId, 'jitsi-meet')
    assert.equal(config.oidc.clientSecret, 'python-client-secret-0123')
    assert.equal(config.oidc.issuer, 'https://idp.example.com/realms/jitsi')
    assert.equal(
      config.oidc.discoveryUrl,
      'https://idp.example.com/realms/jitsi/.well-known/openid-configuration',
    )
    assert.equal(config.oidc.staticEndpoints, undefined)
    assert.deepEqual(config.oidc.scopes, ['openid', 'email', 'profile'])
  })

  it('mints tokens Prosody already accepts and keeps the registered redirect URI', () => {
    assert.equal(config.jitsi.baseUrl.href, 'https://meet.example.com/')
    assert.equal(config.jitsi.redirectUri, 'https://meet.example.com/oidc/redirect')
    assert.equal(config.token.issuer, 'jitsi_app')
    assert.equal(config.token.audience, 'jitsi')
    assert.equal(config.token.subject, 'meet.example.com')
    assert.equal(config.token.algorithm, 'HS256')
    assert.equal(
      new TextDecoder().decode(config.token.secret),
      'python-jwt-secret-0123456789abcdef',
    )
  })

  it('logs as [logging] says, with the Python level name', () => {
    assert.deepEqual(config.logging, {
      level: 'info',
      format: 'auto',
      file: 'app.log',
      fileSetting: '[logging] filename',
      fileMode: 'a',
    })
    assert.deepEqual(config.legacy, [])
  })
})

describe('a jitsi-contrib/jitsi-oidc-adapter environment', () => {
  const contribEnv = {
    OIDC_ISSUER_URL: 'https://idp.example.com/realms/jitsi',
    OIDC_CLIENT_ID: 'jitsi-meet',
    OIDC_CLIENT_SECRET: 'contrib-client-secret',
    OIDC_SCOPES: 'openid profile email',
    JWT_ALG: 'HS256',
    JWT_HASH: 'SHA-256',
    JWT_APP_ID: 'myappid',
    JWT_APP_SECRET: 'contrib-app-secret-0123456789',
    JWT_EXP_SECOND: '3600',
    HOSTNAME: '0.0.0.0',
    PORT: '9000',
    AUTO_RETURN_TO_APP: 'true',
  }

  it('needs JITSI_BASE_URL added, and nothing else', () => {
    assert.throws(
      () => buildConfig({ env: contribEnv }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.map((problem) => problem.setting).join() === 'JITSI_BASE_URL',
    )
  })

  it('maps each legacy name to the setting that does the same', () => {
    const config = buildConfig({
      env: { ...contribEnv, JITSI_BASE_URL: 'https://meet.example.com' },
    })
    assert.equal(config.token.algorithm, 'HS256')
    assert.equal(config.token.lifetimeSeconds, 3600)
    assert.equal(config.token.issuer, 'myappid')
    assert.equal(config.server.host, '0.0.0.0')
    assert.equal(config.server.port, 9000)
    assert.equal(config.jitsi.appAutoReturn, true)
  })

  it("keeps the provider's registration: the callback stays at /oidc/tokenize", () => {
    const env = { ...contribEnv, JITSI_BASE_URL: 'https://meet.example.com' }
    assert.equal(buildConfig({ env }).jitsi.redirectUri, 'https://meet.example.com/oidc/tokenize')
    // A path the admin sets still wins.
    assert.equal(
      buildConfig({ env: { ...env, ADAPTER_CALLBACK_PATH: '/oidc/redirect' } }).jitsi.redirectUri,
      'https://meet.example.com/oidc/redirect',
    )
    // A shell's HOSTNAME alone is no sign of the old adapter.
    const shellOnly = {
      OIDC_ISSUER_URL: contribEnv.OIDC_ISSUER_URL,
      OIDC_CLIENT_ID: contribEnv.OIDC_CLIENT_ID,
      OIDC_CLIENT_SECRET: contribEnv.OIDC_CLIENT_SECRET,
      JWT_APP_ID: contribEnv.JWT_APP_ID,
      JWT_APP_SECRET: contribEnv.JWT_APP_SECRET,
      JITSI_BASE_URL: 'https://meet.example.com',
      HOSTNAME: 'jitsi-host-01',
    }
    assert.equal(
      buildConfig({ env: shellOnly }).jitsi.redirectUri,
      'https://meet.example.com/oidc/redirect',
    )
  })

  /** The contrib environment, made startable here: an issuer nobody serves, a free port. */
  async function startableContribConfig(extra: Record<string, string> = {}): Promise<Config> {
    return buildConfig({
      env: {
        ...contribEnv,
        OIDC_ISSUER_URL: await unreachableIssuer(),
        JITSI_BASE_URL: 'https://meet.example.com',
        HOSTNAME: '127.0.0.1',
        PORT: '0',
        ...extra,
      },
    })
  }

  it('says a legacy name is ignored when its current name is set too', async () => {
    const config = await startableContribConfig({ JWT_LIFETIME_SECONDS: '7200' })
    assert.equal(config.token.lifetimeSeconds, 7200)
    const expected =
      'JWT_EXP_SECOND (from jitsi-contrib/jitsi-oidc-adapter) is ignored: JWT_LIFETIME_SECONDS is set too and wins; remove JWT_EXP_SECOND'
    const lines = (await collectStartupLines(config)).filter((l) => l['event'] === 'config.legacy')
    assert.ok(lines.some((line) => line['msg'] === expected))
    const check = await collectCheckLines(config)
    assert.ok(check.includes(`ok   legacy setting ${expected}`))
  })

  it('logs one line per legacy name with the name to use now, and check prints them too', async () => {
    const config = await startableContribConfig()
    const lines = (await collectStartupLines(config)).filter((l) => l['event'] === 'config.legacy')
    assert.deepEqual(
      lines.map((line) => line['msg']),
      [
        'JWT_ALG (from jitsi-contrib/jitsi-oidc-adapter) is read as JWT_ALGORITHM; rename it when convenient',
        'JWT_HASH (from jitsi-contrib/jitsi-oidc-adapter): the hash follows from JWT_ALGORITHM; this name is ignored',
        'JWT_EXP_SECOND (from jitsi-contrib/jitsi-oidc-adapter) is read as JWT_LIFETIME_SECONDS; rename it when convenient',
        'HOSTNAME (from jitsi-contrib/jitsi-oidc-adapter) is read as HOST; rename it when convenient',
        'AUTO_RETURN_TO_APP (from jitsi-contrib/jitsi-oidc-adapter) is read as JITSI_APP_AUTO_RETURN; rename it when convenient',
      ],
    )
    const check = (await collectCheckLines(config)).filter((line) =>
      line.includes('legacy setting'),
    )
    assert.equal(check.length, 5)
    assert.equal(
      check[0],
      'ok   legacy setting JWT_ALG (from jitsi-contrib/jitsi-oidc-adapter) is read as JWT_ALGORITHM; rename it when convenient',
    )
  })
})

describe('a jitsi-openid environment with secrets in files', () => {
  let dir: string
  let openidEnv: Record<string, string>
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'adapter-migration-'))
    writeFileSync(join(dir, 'jitsi_secret'), 'openid-jitsi-secret-0123456789\n')
    writeFileSync(join(dir, 'client_secret'), 'openid-client-secret\n')
    openidEnv = {
      JITSI_SECRET_FILE: join(dir, 'jitsi_secret'),
      JITSI_URL: 'https://meet.example.com',
      JITSI_SUB: 'meet.example.com',
      ISSUER_URL: 'https://id.example.com/realms/main',
      BASE_URL: 'https://auth.meet.example.com',
      CLIENT_ID: 'meet.example.com',
      CLIENT_SECRET_FILE: join(dir, 'client_secret'),
      SCOPES: 'openid profile email',
      SKIP_PREJOIN_SCREEN: 'false',
      VERIFY_ACCESS_TOKEN_HASH: 'true',
    }
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('loads without edits and mints the token jitsi-openid minted', () => {
    const config = buildConfig({ env: openidEnv })
    assert.equal(new TextDecoder().decode(config.token.secret), 'openid-jitsi-secret-0123456789')
    assert.equal(config.oidc.clientSecret, 'openid-client-secret')
    assert.equal(config.oidc.clientId, 'meet.example.com')
    assert.equal(config.oidc.issuer, 'https://id.example.com/realms/main')
    assert.deepEqual(config.oidc.scopes, ['openid', 'profile', 'email'])
    assert.equal(config.jitsi.baseUrl.href, 'https://meet.example.com/')
    assert.equal(config.jitsi.skipPrejoin, false)
    assert.equal(config.token.issuer, 'jitsi')
    assert.equal(config.token.audience, 'jitsi')
    assert.equal(config.token.subject, 'meet.example.com')
  })

  it('keeps the adapter on its own host, with the callback under /oidc/redirect', () => {
    const config = buildConfig({ env: openidEnv })
    assert.equal(config.jitsi.adapterPublicUrl.href, 'https://auth.meet.example.com/')
    assert.equal(config.jitsi.redirectUri, 'https://auth.meet.example.com/oidc/redirect')
  })

  it('logs one line per legacy name, naming the *_FILE variables as set', async () => {
    const config = buildConfig({
      env: { ...openidEnv, ISSUER_URL: await unreachableIssuer(), PORT: '0' },
    })
    const lines = (await collectStartupLines(config)).filter((l) => l['event'] === 'config.legacy')
    assert.deepEqual(
      lines.map((line) => [line['name'], line['target']]),
      [
        ['JITSI_SECRET_FILE', 'JWT_APP_SECRET'],
        ['JITSI_URL', 'JITSI_BASE_URL'],
        ['JITSI_SUB', 'JWT_SUBJECT'],
        ['ISSUER_URL', 'OIDC_ISSUER_URL'],
        ['BASE_URL', 'ADAPTER_PUBLIC_URL'],
        ['CLIENT_ID', 'OIDC_CLIENT_ID'],
        ['CLIENT_SECRET_FILE', 'OIDC_CLIENT_SECRET'],
        ['SCOPES', 'OIDC_SCOPES'],
        ['VERIFY_ACCESS_TOKEN_HASH', undefined],
        ['SKIP_PREJOIN_SCREEN', 'JITSI_SKIP_PREJOIN'],
      ],
    )
    assert.equal(
      lines[0]!['msg'],
      'JITSI_SECRET_FILE (from jitsi-openid) is read as JWT_APP_SECRET; rename it when convenient',
    )
  })
})
