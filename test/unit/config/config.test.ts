import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'

import { buildConfig, ConfigError, type Config } from '../../../src/config/index.js'
import { parseIni } from '../../../src/config/ini.js'

const minimal = {
  OIDC_ISSUER_URL: 'https://idp.example/realms/jitsi',
  OIDC_CLIENT_ID: 'jitsi',
  OIDC_CLIENT_SECRET: 'client-secret-value',
  JITSI_BASE_URL: 'https://meet.example',
  JWT_APP_ID: 'jitsi_app',
  JWT_APP_SECRET: 'app-secret-0123456789',
}

function problemsOf(
  env: Record<string, string>,
  ini?: string,
): Array<{ setting: string; message: string }> {
  try {
    buildConfig({ env, ...(ini === undefined ? {} : { ini: { path: 'app.conf', text: ini } }) })
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  assert.fail('expected configuration problems')
}

describe('configuration', () => {
  it('builds a frozen config with defaults that fit Prosody', () => {
    const config = buildConfig({ env: minimal })
    assert.ok(Object.isFrozen(config))
    assert.ok(Object.isFrozen(config.token))
    assert.equal(config.token.issuer, 'jitsi_app')
    assert.equal(config.token.audience, 'jitsi')
    assert.equal(config.token.subject, 'meet.example')
    assert.equal(config.token.algorithm, 'HS256')
    assert.equal(config.token.lifetimeSeconds, 10800)
    assert.equal(config.token.notBeforeSkewSeconds, 60)
    assert.equal(config.token.roomScope, 'room')
    assert.equal(config.token.delivery, 'hash')
    assert.deepEqual(config.oidc.scopes, ['openid', 'profile', 'email'])
    assert.equal(config.jitsi.redirectUri, 'https://meet.example/oidc/redirect')
    assert.equal(config.server.host, '127.0.0.1')
    assert.equal(config.server.port, 8000)
    assert.equal(config.server.secureCookies, true)
    assert.equal(config.server.cookieKey.length, 32)
  })

  it('reports every problem at once, each naming the setting', () => {
    const problems = problemsOf({
      OIDC_CLIENT_ID: '',
      JITSI_BASE_URL: 'meet.example',
      JWT_APP_SECRET: 'short',
      JWT_LIFETIME_SECONDS: '999999',
      PORT: 'eighty',
      JWT_ALGORITHM: 'RS256',
      OIDC_SCOPES: 'profile email',
    })
    const settings = problems.map((problem) => problem.setting).sort()
    assert.deepEqual(settings, [
      'JITSI_BASE_URL',
      'JWT_ALGORITHM',
      'JWT_APP_ID',
      'JWT_APP_SECRET',
      'JWT_LIFETIME_SECONDS',
      'OIDC_CLIENT_ID',
      'OIDC_ISSUER_URL',
      'OIDC_SCOPES',
      'PORT',
    ])
  })

  it('reports a secret by its length, never its value', () => {
    const problems = problemsOf({ ...minimal, JWT_APP_SECRET: 'tiny-secret' })
    const message = problems.find((problem) => problem.setting === 'JWT_APP_SECRET')!.message
    assert.match(message, /11 characters/)
    assert.doesNotMatch(JSON.stringify(problems), /tiny-secret/)
  })

  it('reads secrets from *_FILE without the trailing newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'joa-config-'))
    writeFileSync(join(dir, 'app'), 'file-app-secret-0123456789\n')
    writeFileSync(join(dir, 'client'), 'file-client-secret\n')
    const { JWT_APP_SECRET: _a, OIDC_CLIENT_SECRET: _c, ...rest } = minimal
    const config = buildConfig({
      env: {
        ...rest,
        JWT_APP_SECRET_FILE: join(dir, 'app'),
        OIDC_CLIENT_SECRET_FILE: join(dir, 'client'),
      },
    })
    assert.equal(new TextDecoder().decode(config.token.secret), 'file-app-secret-0123456789')
    assert.equal(config.oidc.clientSecret, 'file-client-secret')
  })

  it('refuses a secret given both directly and as a file, and a missing file', () => {
    const both = problemsOf({ ...minimal, JWT_APP_SECRET_FILE: '/nonexistent/secret' })
    assert.deepEqual(
      both.map((p) => p.setting),
      ['JWT_APP_SECRET'],
    )
    assert.match(both[0]!.message, /keep one/)

    const { JWT_APP_SECRET: _secret, ...rest } = minimal
    const missing = problemsOf({ ...rest, JWT_APP_SECRET_FILE: '/nonexistent/secret' })
    assert.ok(missing.some((p) => p.setting === 'JWT_APP_SECRET_FILE' && /ENOENT/.test(p.message)))
  })

  it('reads the Python adapter app.conf unchanged, trailing comments included', () => {
    const ini = `[oauth]
client_id = jitsi
client_secret = python-client-secret
issuer = https://idp.example/realms/jitsi
authorize_url = https://placeholder # ignored once discovery is set
access_token_url = https://placeholder
jwks_uri = https://placeholder
scope = openid email profile # Change depending on your IDP's scope configuration

[urls]
jitsi_base = https://meet.example
oidc_discovery = https://idp.example/realms/jitsi/.well-known/openid-configuration

[jwt]
audience = jitsi
issuer = jitsi_app
subject = meet.example
secret_key = python-app-secret-0123

[logging]
level = WARNING
filename = /tmp/app.log
filemode = w
`
    const config = buildConfig({ env: {}, ini: { path: 'app.conf', text: ini } })
    assert.deepEqual(config.oidc.scopes, ['openid', 'email', 'profile'])
    assert.equal(
      config.oidc.discoveryUrl,
      'https://idp.example/realms/jitsi/.well-known/openid-configuration',
    )
    assert.equal(config.oidc.staticEndpoints, undefined)
    assert.equal(config.token.issuer, 'jitsi_app')
    assert.equal(config.token.subject, 'meet.example')
    assert.equal(config.logging.level, 'warn')
    assert.equal(config.logging.file, '/tmp/app.log')
    assert.equal(config.logging.fileMode, 'w')
  })

  it('lets the environment override the INI file', () => {
    const ini = `[oauth]\nclient_id = from-file\n`
    const config = buildConfig({
      env: { ...minimal, OIDC_CLIENT_ID: 'from-env' },
      ini: { path: 'x.conf', text: ini },
    })
    assert.equal(config.oidc.clientId, 'from-env')
  })

  it('names an unknown INI key with its line', () => {
    const problems = problemsOf(minimal, `[jwt]\nsecret = x\n`)
    assert.deepEqual(
      problems.map((p) => p.setting),
      ['[jwt] secret'],
    )
    assert.match(problems[0]!.message, /line 2/)
  })

  it('refuses plain-http providers unless OIDC_ALLOW_HTTP is set, and warns when it is', () => {
    const problems = problemsOf({ ...minimal, OIDC_ISSUER_URL: 'http://idp.example' })
    assert.ok(
      problems.some((p) => p.setting === 'OIDC_ISSUER_URL' && /OIDC_ALLOW_HTTP/.test(p.message)),
    )
    const config = buildConfig({
      env: { ...minimal, OIDC_ISSUER_URL: 'http://idp.example', OIDC_ALLOW_HTTP: 'true' },
    })
    assert.ok(config.warnings.some((warning) => warning.startsWith('OIDC_ALLOW_HTTP=true')))
  })

  it('refuses a Jitsi base URL under a path prefix, which Jitsi would read as a tenant', () => {
    const problems = problemsOf({ ...minimal, JITSI_BASE_URL: 'https://meet.example/jitsi/' })
    assert.deepEqual(
      problems.map((p) => p.setting),
      ['JITSI_BASE_URL'],
    )
  })

  it('checks HOST and METRICS_HOST with the other settings', () => {
    for (const host of ['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost', 'adapter-01.internal']) {
      const config = buildConfig({ env: { ...minimal, HOST: host, METRICS_HOST: host } })
      assert.equal(config.server.host, host)
    }
    const { JWT_APP_SECRET: _unset, ...withoutSecret } = minimal
    const problems = problemsOf({ ...withoutSecret, HOST: 'not_a_host', METRICS_HOST: '[::1]' })
    assert.deepEqual(
      problems.map((p) => p.setting),
      ['JWT_APP_SECRET', 'HOST', 'METRICS_HOST'],
    )
    assert.match(problems[1]!.message, /must be an IP address .* or a host name, got "not_a_host"/)
    assert.match(problems[2]!.message, /without brackets, e\.g\. "::1"/)
    // Digits and dots are meant as an IPv4 address, and this is none.
    assert.deepEqual(
      problemsOf({ ...minimal, HOST: '999.1.1.1' }).map((p) => p.setting),
      ['HOST'],
    )
  })

  it('lists a bad TRUST_PROXY together with a missing app secret, not after it is fixed', () => {
    const { JWT_APP_SECRET: _unset, ...withoutSecret } = minimal
    const settings = problemsOf({ ...withoutSecret, TRUST_PROXY: 'maybe' }).map((p) => p.setting)
    assert.ok(settings.includes('TRUST_PROXY'), settings.join(', '))
    assert.ok(settings.includes('JWT_APP_SECRET'), settings.join(', '))
  })

  it('names a bad OIDC_CLIENT_AUTH_METHOD once, without a knock-on problem about the secret', () => {
    const { OIDC_CLIENT_SECRET: _unset, ...withoutSecret } = minimal
    const problems = problemsOf({ ...withoutSecret, OIDC_CLIENT_AUTH_METHOD: 'bogus' })
    assert.deepEqual(
      problems.map((p) => p.setting),
      ['OIDC_CLIENT_AUTH_METHOD'],
    )
    assert.ok(!problems.some((p) => p.message.includes('undefined')))
  })

  it('refuses a JWT_SUBJECT that is not one XMPP domain or "*"', () => {
    for (const subject of ['meet.jitsi,other', 'meet jitsi', 'https://meet.jitsi']) {
      const problems = problemsOf({ ...minimal, JWT_SUBJECT: subject })
      assert.deepEqual(
        problems.map((p) => p.setting),
        ['JWT_SUBJECT'],
        subject,
      )
    }
    for (const subject of ['meet.jitsi', '*', 'MEET.example-1.org']) {
      assert.equal(
        buildConfig({ env: { ...minimal, JWT_SUBJECT: subject } }).token.subject,
        subject,
      )
    }
  })

  it('refuses an adapter public URL with a path or query: the login cookie lives at /oidc/', () => {
    for (const url of ['https://auth.example/x', 'https://auth.example/?y=1']) {
      const problems = problemsOf({ ...minimal, ADAPTER_PUBLIC_URL: url })
      assert.deepEqual(
        problems.map((p) => p.setting),
        ['ADAPTER_PUBLIC_URL'],
        url,
      )
      assert.match(problems[0]!.message, /"https:\/\/auth\.example"/)
    }
    const config = buildConfig({ env: { ...minimal, ADAPTER_PUBLIC_URL: 'https://auth.example/' } })
    assert.equal(config.jitsi.redirectUri, 'https://auth.example/oidc/redirect')
  })

  it('derives the same cookie key on every replica that shares the app secret', () => {
    const one = buildConfig({ env: minimal })
    const two = buildConfig({ env: minimal })
    const other = buildConfig({ env: { ...minimal, COOKIE_SECRET: 'c'.repeat(32) } })
    assert.deepEqual(one.server.cookieKey, two.server.cookieKey)
    assert.notDeepEqual(one.server.cookieKey, other.server.cookieKey)
    assert.notDeepEqual(Buffer.from(one.server.cookieKey), Buffer.from(one.token.secret))
  })

  it('maps jitsi-openid names and keeps its "jitsi" issuer', () => {
    const config: Config = buildConfig({
      env: {
        ISSUER_URL: 'https://idp.example/realms/jitsi',
        CLIENT_ID: 'jitsi',
        CLIENT_SECRET: 'client-secret-value',
        JITSI_URL: 'https://meet.example',
        JITSI_SECRET: 'app-secret-0123456789',
        JITSI_SUB: 'meet.jitsi',
        HOSTNAME: 'build-host-42',
      },
    })
    assert.equal(config.token.issuer, 'jitsi')
    assert.equal(config.token.subject, 'meet.jitsi')
    assert.equal(config.server.host, '127.0.0.1')
    assert.deepEqual(
      config.legacy.map((legacy) => [legacy.name, legacy.target ?? null]),
      [
        ['HOSTNAME', null],
        ['JITSI_SECRET', 'JWT_APP_SECRET'],
        ['JITSI_URL', 'JITSI_BASE_URL'],
        ['JITSI_SUB', 'JWT_SUBJECT'],
        ['ISSUER_URL', 'OIDC_ISSUER_URL'],
        ['CLIENT_ID', 'OIDC_CLIENT_ID'],
        ['CLIENT_SECRET', 'OIDC_CLIENT_SECRET'],
      ],
    )
  })
})

describe('INI parsing', () => {
  it('strips comments after values only when preceded by white space', () => {
    const { entries } = parseIni(
      '[a]\nurl = https://x.example/#frag\nkey = value # note\nother = v ; note\n',
    )
    assert.deepEqual(
      entries.map((entry) => [entry.key, entry.value]),
      [
        ['url', 'https://x.example/#frag'],
        ['key', 'value'],
        ['other', 'v'],
      ],
    )
  })

  it('reports lines outside a section and lines without a key', () => {
    const { errors } = parseIni('orphan = 1\n[s]\njust text\n')
    assert.deepEqual(errors, [
      'line 1: "orphan" is outside any [section]',
      'line 3: expected "key = value" or "[section]"',
    ])
  })
})

describe('configuration problems a newcomer hits', () => {
  it('reports a bad URL once, without a second "is required"', () => {
    const problems = problemsOf({
      ...minimal,
      JITSI_BASE_URL: 'notaurl',
      OIDC_ISSUER_URL: 'ftp://idp.example',
    })
    assert.deepEqual(problems.map((p) => p.setting).sort(), ['JITSI_BASE_URL', 'OIDC_ISSUER_URL'])
  })

  it('never repeats the password of a URL in a message', () => {
    const problems = problemsOf({
      ...minimal,
      JITSI_BASE_URL: 'https://user:hunter2@meet.example/x',
    })
    assert.ok(problems.length > 0)
    assert.doesNotMatch(JSON.stringify(problems), /hunter2|user:/)
  })

  it('checks TRUST_PROXY with the other settings and names it', () => {
    const problems = problemsOf({
      ...minimal,
      TRUST_PROXY: 'nonsense, 10.0.0.0/33',
      JWT_APP_SECRET: 'short',
    })
    const trust = problems.find((p) => p.setting === 'TRUST_PROXY')
    assert.match(trust!.message, /"nonsense", "10\.0\.0\.0\/33"/)
    assert.ok(problems.some((p) => p.setting === 'JWT_APP_SECRET'))
  })

  it('accepts addresses, ranges and the names proxy-addr knows', () => {
    const config = buildConfig({
      env: { ...minimal, TRUST_PROXY: 'loopback, 10.0.0.0/8, ::1, fd00::/8' },
    })
    assert.deepEqual(config.server.trustProxy, ['loopback', '10.0.0.0/8', '::1', 'fd00::/8'])
  })

  it('warns about settings that weaken security', () => {
    const config = buildConfig({
      env: {
        ...minimal,
        TRUST_PROXY: 'true',
        JITSI_BASE_URL: 'http://meet.example',
        JWT_ROOM_SCOPE: 'any',
      },
    })
    assert.equal(
      config.warnings.filter((w) => /^(TRUST_PROXY|JITSI_BASE_URL|JWT_ROOM_SCOPE)/.test(w)).length,
      3,
    )
  })

  it('refuses an issuer with a query or fragment', () => {
    const problems = problemsOf({
      ...minimal,
      OIDC_ISSUER_URL: 'https://idp.example/realms/x?x=1#frag',
    })
    assert.deepEqual(
      problems.map((p) => p.setting),
      ['OIDC_ISSUER_URL'],
    )
  })

  it('refuses a secret given twice in the INI file', () => {
    const { OIDC_CLIENT_SECRET: _secret, ...rest } = minimal
    const dir = mkdtempSync(join(tmpdir(), 'joa-ini-'))
    writeFileSync(join(dir, 'secret'), 'from-a-file\n')
    const problems = problemsOf(
      rest,
      `[oauth]\nclient_secret = inline\nclient_secret_file = ${join(dir, 'secret')}\n`,
    )
    assert.deepEqual(
      problems.map((p) => p.setting),
      ['[oauth] client_secret_file'],
    )
    assert.match(problems[0]!.message, /keep one/)
  })
})
