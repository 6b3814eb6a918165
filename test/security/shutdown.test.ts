import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

import { startBadProvider } from '../support/bad-provider.js'
import { findFreePort, testAppSecret } from '../support/harness.js'
import { CookieJar, get } from '../support/login-driver.js'
import { collectSecrets, findLeaks, jitsiOrigin } from './support.js'

const mainScript = new URL('../../src/cli/main.js', import.meta.url).pathname

describe('graceful shutdown of the served process', () => {
  it('finishes a login in flight on SIGTERM, then exits 0, leaking nothing to stdout or stderr', async () => {
    const provider = await startBadProvider()
    provider.behave({ faults: { token: { kind: 'delay', ms: 1500 } } })
    const port = await findFreePort()
    const url = `http://127.0.0.1:${port}`
    const child = spawn(process.execPath, [mainScript, 'serve'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        OIDC_ISSUER_URL: provider.issuer,
        OIDC_CLIENT_ID: provider.clientId,
        OIDC_CLIENT_SECRET: provider.clientSecret,
        OIDC_ALLOW_HTTP: 'true',
        OIDC_TIMEOUT_SECONDS: '5',
        JITSI_BASE_URL: jitsiOrigin,
        JWT_APP_ID: 'jitsi_app',
        JWT_APP_SECRET: testAppSecret,
        HOST: '127.0.0.1',
        PORT: String(port),
        ADAPTER_PUBLIC_URL: url,
        LOG_LEVEL: 'debug',
        SHUTDOWN_TIMEOUT_SECONDS: '5',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const output: string[] = []
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()))
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>

    try {
      await waitFor(
        async () => (await fetch(`${url}/oidc/ready`).catch(() => undefined))?.status === 200,
      )
      const jar = new CookieJar()
      const start = await get(`${url}/oidc/auth?roomname=standup`, jar)
      const callbackUrl = await provider.authorize(start.headers.get('location')!)

      const inFlight = get(callbackUrl, jar)
      // The token endpoint has the request and holds it for 1.5 s: the login is mid-callback.
      await waitFor(async () => provider.count('token') === 1)
      assert.equal(provider.issued.verifiers.length, 0)
      const signalledAt = performance.now()
      child.kill('SIGTERM')

      const callback = await inFlight
      assert.equal(callback.status, 302)
      assert.ok(callback.headers.get('location')!.startsWith(`${jitsiOrigin}/standup#jwt=`))
      const minted = /#jwt=%22([\w.-]+)%22/.exec(callback.headers.get('location')!)![1]!

      const [code, signal] = await exited
      assert.equal(signal, null)
      assert.equal(code, 0)
      assert.ok(performance.now() - signalledAt < 5000)
      assert.ok(output.join('').includes('"event":"shutdown"'))
      await assert.rejects(fetch(`${url}/oidc/health`))

      assert.deepEqual(findLeaks(output, collectSecrets(provider, [minted])), [])
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
      await provider.close()
    }
  })
})

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error('timed out waiting')
    await sleep(25)
  }
}
