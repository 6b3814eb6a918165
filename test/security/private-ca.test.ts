import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { startBadProvider, type BadProvider } from '../support/bad-provider.js'
import { tokenFromUrl } from '../support/harness.js'
import { jitsiOrigin, loginAt, startBadRig } from './support.js'

/** Why the test cannot run here, or undefined; with REQUIRE_TEST_TOOLS a missing tool fails. */
function findMissingOpenssl(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return undefined
  } catch {
    const reason = 'needs the openssl CLI to make a private CA: apt-get install -y openssl'
    // CI sets REQUIRE_TEST_TOOLS: there a missing tool is a failure, never a quiet skip.
    if (process.env['REQUIRE_TEST_TOOLS']) throw new Error(reason)
    return reason
  }
}

interface PrivatePki {
  dir: string
  caFile: string
  tls: { key: string; cert: string; ca: string }
}

/** A throwaway CA and a certificate it signed for 127.0.0.1, made with the openssl CLI. */
function buildPrivatePki(): PrivatePki {
  const dir = mkdtempSync(join(tmpdir(), 'private-ca-'))
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

  openssl(
    ...['req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2'],
    ...['-subj', '/CN=Adapter test private CA'],
    ...['-addext', 'basicConstraints=critical,CA:TRUE'],
    ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  )
  openssl('req', ...ecKey, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1')
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  )
  openssl(
    ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key'],
    ...['-set_serial', '1', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem'],
  )

  const read = (name: string) => readFileSync(join(dir, name), 'utf8')
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    tls: { key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem') },
  }
}

async function readiness(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/oidc/ready`)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

const missing = findMissingOpenssl()

describe(
  'a provider whose certificate a private CA signed (OIDC_CA_FILE)',
  { skip: missing },
  () => {
    let pki: PrivatePki
    let provider: BadProvider

    before(async () => {
      pki = buildPrivatePki()
      provider = await startBadProvider({ tls: pki.tls })
    })
    after(async () => {
      await provider?.close()
      if (pki) rmSync(pki.dir, { recursive: true, force: true })
    })

    it('is not trusted without OIDC_CA_FILE: the adapter stays not ready', async () => {
      assert.match(provider.issuer, /^https:\/\/127\.0\.0\.1:\d+\//)
      const rig = await startBadRig({ OIDC_ALLOW_HTTP: undefined }, provider)
      try {
        const ready = await readiness(rig.adapter.url)
        assert.equal(ready.status, 503)
        assert.equal(ready.body['status'], 'not-ready')
        assert.equal(ready.body['code'], 'ERR_OIDC_PROVIDER_UNAVAILABLE')
        assert.equal(provider.count('discovery'), 0)
        // The admin's log names the fix, not only the TLS error code.
        assert.ok(
          rig.adapter.logs.some(
            (line) =>
              line.includes('"event":"oidc.unavailable"') &&
              line.includes('UNABLE_TO_VERIFY_LEAF_SIGNATURE') &&
              line.includes('OIDC_CA_FILE'),
          ),
        )
      } finally {
        await rig.close()
      }
    })

    it('is trusted with OIDC_CA_FILE: the adapter becomes ready and a login completes', async () => {
      provider.behave({})
      const rig = await startBadRig(
        { OIDC_ALLOW_HTTP: undefined, OIDC_CA_FILE: pki.caFile },
        provider,
      )
      try {
        const ready = await readiness(rig.adapter.url)
        assert.equal(ready.status, 200)
        assert.equal(ready.body['status'], 'ready')

        const login = await loginAt(rig)
        assert.equal(login.callback.status, 302)
        assert.ok(login.location?.startsWith(`${jitsiOrigin}/standup#jwt=`))
        assert.ok(tokenFromUrl(login.location!))
        assert.equal(provider.count('token'), 1)
      } finally {
        await rig.close()
      }
    })

    it('keeps a NODE_EXTRA_CA_CERTS bundle trusted when OIDC_CA_FILE names another CA', async () => {
      // A `ca` list replaces Node's default trust, extra certificates included; the adapter
      // must add them back, or setting OIDC_CA_FILE for one CA silently drops the other.
      const otherCa = join(pki.dir, 'other-ca.pem')
      execFileSync(
        'openssl',
        [
          ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
          ...['-nodes', '-keyout', join(pki.dir, 'other-ca.key'), '-out', otherCa, '-days', '2'],
          ...['-subj', '/CN=Another private CA'],
        ],
        { stdio: 'pipe' },
      )
      const previous = process.env['NODE_EXTRA_CA_CERTS']
      process.env['NODE_EXTRA_CA_CERTS'] = pki.caFile
      provider.behave({})
      const rig = await startBadRig({ OIDC_ALLOW_HTTP: undefined, OIDC_CA_FILE: otherCa }, provider)
      try {
        assert.equal((await readiness(rig.adapter.url)).status, 200)
      } finally {
        await rig.close()
        if (previous === undefined) delete process.env['NODE_EXTRA_CA_CERTS']
        else process.env['NODE_EXTRA_CA_CERTS'] = previous
      }
    })
  },
)
