import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

import { startBadProvider, type Fault } from '../support/bad-provider.js'
import { CookieJar, get } from '../support/login-driver.js'
import {
  errorCodeOf,
  jitsiOrigin,
  loginAt,
  startBadRig,
  withClockAhead,
  type BadLogin,
  type BadRig,
} from './support.js'

const faults: Array<[name: string, fault: Fault]> = [
  ['slower than the timeout', { kind: 'hang' }],
  ['dropping the connection', { kind: 'reset' }],
  ['answering 500', { kind: 'status', status: 500 }],
  [
    'answering 500 with HTML',
    { kind: 'status', status: 500, body: '<h1>oops</h1>', contentType: 'text/html' },
  ],
  ['answering HTML instead of JSON', { kind: 'html' }],
  ['cutting the body short', { kind: 'truncated' }],
]

/** The browser gets a provider-unavailable page within the timeout, and an error is logged. */
function assertProviderFailure(rig: BadRig, login: BadLogin, startedMs: number): void {
  const elapsedMs = performance.now() - startedMs
  assert.ok(
    [502, 503, 504].includes(login.callback.status),
    `${login.callback.status}: ${login.body.slice(0, 200)}`,
  )
  assert.match(login.body, /<title>Identity provider unavailable<\/title>/)
  assert.match(errorCodeOf(login.body)!, /^ERR_OIDC_PROVIDER_(UNAVAILABLE|TIMEOUT|BAD_RESPONSE)$/)
  assert.equal(login.location, null)
  assert.ok(elapsedMs < 2500, `the browser waited ${Math.round(elapsedMs)} ms`)
  const code = errorCodeOf(login.body)!
  assert.ok(
    rig.adapter.logs.some(
      (line) => line.includes('"event":"auth.error"') && line.includes(`"code":"${code}"`),
    ),
    `no auth.error line for ${code}`,
  )
}

async function assertHealthy(rig: BadRig): Promise<void> {
  assert.equal((await fetch(`${rig.adapter.url}/oidc/health`)).status, 200)
  assert.equal((await fetch(`${rig.adapter.url}/oidc/ready`)).status, 200)
}

function assertLoggedIn(login: BadLogin): void {
  assert.equal(login.callback.status, 302, login.body.slice(0, 300))
  assert.ok(login.location!.startsWith(`${jitsiOrigin}/standup#jwt=`))
}

describe('a provider that fails during logins', () => {
  let rig: BadRig
  before(async () => {
    rig = await startBadRig({ OIDC_TIMEOUT_SECONDS: '1', OIDC_USERINFO: 'always' })
  })
  after(() => rig.close())
  beforeEach(() => rig.provider.behave({}))

  for (const endpoint of ['token', 'userinfo'] as const) {
    for (const [name, fault] of faults) {
      it(`shows a provider-unavailable page when the ${endpoint} endpoint is ${name}, and recovers`, async () => {
        rig.provider.behave({ faults: { [endpoint]: fault } })
        const started = performance.now()
        assertProviderFailure(rig, await loginAt(rig), started)
        await assertHealthy(rig)

        rig.provider.behave({})
        assertLoggedIn(await loginAt(rig))
      })
    }
  }

  it('shows a provider-unavailable page when the provider refuses connections, and recovers', async () => {
    const jar = new CookieJar()
    const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup`, jar)
    const callbackUrl = await rig.provider.authorize(start.headers.get('location')!)
    await rig.provider.pause()
    try {
      const started = performance.now()
      const response = await get(callbackUrl, jar)
      const login = {
        callback: response,
        body: await response.text(),
        location: response.headers.get('location'),
      }
      assertProviderFailure(rig, login as BadLogin, started)
      assert.equal(response.status, 503)
      assert.equal((await fetch(`${rig.adapter.url}/oidc/health`)).status, 200)
    } finally {
      await rig.provider.resume()
    }
    assertLoggedIn(await loginAt(rig))
  })

  // The JWKS is fetched at a login only for an unknown kid, and only when the cached copy is a
  // minute old (oauth4webapi's rule): each case moves the clock past that minute.
  faults.forEach(([name, fault], index) => {
    it(`shows a provider-unavailable page when the JWKS endpoint is ${name} at a key rotation, and recovers`, async () => {
      await withClockAhead(61 * (index + 1) * 2, async () => {
        await rig.provider.rotate()
        rig.provider.behave({ signWith: 'rotated', faults: { jwks: fault } })
        const started = performance.now()
        assertProviderFailure(rig, await loginAt(rig), started)
        await assertHealthy(rig)

        rig.provider.behave({ signWith: 'rotated' })
        assertLoggedIn(await loginAt(rig))
      })
    })
  })
})

describe('a provider that is down at start-up', () => {
  it('starts, reports not-ready with backoff, and becomes ready without a restart', async () => {
    const provider = await startBadProvider()
    provider.behave({ faults: { discovery: { kind: 'status', status: 503 } } })
    const rig = await startBadRig({ OIDC_TIMEOUT_SECONDS: '1' }, provider)
    try {
      assert.equal((await fetch(`${rig.adapter.url}/oidc/health`)).status, 200)
      const first = await fetch(`${rig.adapter.url}/oidc/ready`)
      assert.equal(first.status, 503)
      assert.deepEqual(await first.json(), {
        status: 'not-ready',
        provider: 'unavailable',
        code: 'ERR_OIDC_PROVIDER_UNAVAILABLE',
        retryInSeconds: 1,
      })
      const login = await fetch(`${rig.adapter.url}/oidc/auth?roomname=standup`, {
        redirect: 'manual',
      })
      assert.equal(login.status, 503)
      assert.match(await login.text(), /Identity provider unavailable/)

      await sleep(1300)
      const second = (await (await fetch(`${rig.adapter.url}/oidc/ready`)).json()) as {
        retryInSeconds: number
      }
      assert.equal(second.retryInSeconds, 2)
      assert.equal(provider.count('discovery'), 2)

      provider.behave({})
      await sleep(2300)
      assert.equal((await fetch(`${rig.adapter.url}/oidc/ready`)).status, 200)
      assertLoggedIn(await loginAt(rig))
      const retries = rig.adapter.logs
        .filter((line) => line.includes('"event":"oidc.unavailable"'))
        .map((line) => (JSON.parse(line) as { retryInSeconds: number }).retryInSeconds)
      assert.deepEqual(retries, [1, 2])
    } finally {
      await rig.close()
      await provider.close()
    }
  })
})
