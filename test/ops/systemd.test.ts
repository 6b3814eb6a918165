import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'

import { isKnownEnvName, repoRoot } from './support.js'

const run = promisify(execFile)
const unitPath = join(repoRoot, 'deploy/systemd/jitsi-oidc-adapter.service')
const unit = readFileSync(unitPath, 'utf8')
const installedBin = '/usr/local/bin/jitsi-oidc-adapter'

/** `Key=value` lines of the [Service] section, in order. */
function serviceDirectives(): Array<[string, string]> {
  const section = unit.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!
  return section
    .split('\n')
    .filter((line) => /^\w+=/.test(line))
    .map((line) => {
      const index = line.indexOf('=')
      return [line.slice(0, index), line.slice(index + 1)]
    })
}

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0
// CI installs systemd (scripts/ensure-test-tools.sh) and sets REQUIRE_TEST_TOOLS: there the
// test must run. Elsewhere it skips with the reason, e.g. on a machine without Debian packages.
const skipReason =
  hasAnalyze || process.env['REQUIRE_TEST_TOOLS']
    ? false
    : 'systemd-analyze is not installed: apt-get install -y systemd'

describe('systemd unit', () => {
  const directives = serviceDirectives()
  const values = (key: string) => directives.filter(([name]) => name === key).map(([, v]) => v)

  it('runs unprivileged and read-only, with a private /tmp and no new privileges', () => {
    assert.deepEqual(values('DynamicUser'), ['yes'])
    assert.deepEqual(values('ProtectSystem'), ['strict'])
    assert.deepEqual(values('NoNewPrivileges'), ['yes'])
    assert.deepEqual(values('PrivateTmp'), ['yes'])
    assert.deepEqual(values('CapabilityBoundingSet'), [''])
    assert.deepEqual(values('User'), [])
    assert.deepEqual(values('ExecStart'), [`${installedBin} serve`])
  })

  it('reads settings from an EnvironmentFile and secrets as credentials through *_FILE', () => {
    assert.deepEqual(values('EnvironmentFile'), ['/etc/jitsi-oidc-adapter/env'])
    const credentials = values('LoadCredential').map((value) => value.split(':')[0])
    assert.deepEqual(credentials, ['jwt_app_secret', 'oidc_client_secret'])
    const environment = values('Environment')
    assert.ok(environment.includes('JWT_APP_SECRET_FILE=%d/jwt_app_secret'))
    assert.ok(environment.includes('OIDC_CLIENT_SECRET_FILE=%d/oidc_client_secret'))
    for (const assignment of environment) {
      const name = assignment.split('=')[0]!
      // Node's and glibc's own variables are not settings of ours.
      const runtime = ['NODE_ENV', 'MALLOC_ARENA_MAX']
      assert.ok(runtime.includes(name) || isKnownEnvName(name), `unknown setting ${name}`)
    }
  })

  it('ships an environment file example that names only real settings', () => {
    const example = readFileSync(
      join(repoRoot, 'deploy/systemd/jitsi-oidc-adapter.env.example'),
      'utf8',
    )
    const names = [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]!)
    assert.ok(names.length >= 6)
    for (const name of names) assert.ok(isKnownEnvName(name), `unknown setting ${name}`)
    assert.doesNotMatch(example, /SECRET/)
  })

  describe('systemd-analyze', { skip: skipReason }, () => {
    let dir: string
    let copy: string
    before(() => {
      // verify insists that ExecStart exists; this machine has the package in dist/, not in
      // /usr/local/bin, so the copy points at a stand-in. Nothing else changes.
      dir = mkdtempSync(join(tmpdir(), 'adapter-unit-'))
      const stub = join(dir, 'jitsi-oidc-adapter')
      writeFileSync(stub, '#!/bin/sh\nexit 0\n')
      chmodSync(stub, 0o755)
      copy = join(dir, 'jitsi-oidc-adapter.service')
      writeFileSync(copy, unit.replace(installedBin, stub))
    })
    after(() => rmSync(dir, { recursive: true, force: true }))

    it('passes systemd-analyze verify without a warning', async () => {
      const { stdout, stderr } = await run('systemd-analyze', ['verify', copy])
      assert.equal(stdout, '')
      assert.equal(stderr, '')
    })

    it('has an exposure level of at most 2.0 in systemd-analyze security', async () => {
      const { stdout } = await run('systemd-analyze', [
        'security',
        '--offline=yes',
        '--threshold=20',
        copy,
      ])
      assert.match(stdout, /Overall exposure level for jitsi-oidc-adapter\.service: [01]\.\d OK/)
    })
  })
})
