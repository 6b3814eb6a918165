import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import {
  maxTransactionCookieBytes,
  maxTransactionCookies,
  selectStaleTransactionCookies,
} from '../../src/transaction.js'
import { startRig, type Rig } from '../support/harness.js'
import { CookieJar, get, passProvider, runLogin } from '../support/login-driver.js'

const cap = maxTransactionCookies

function transactionCookies(jar: CookieJar, url: string): string[] {
  return jar.names(url).filter((name) => name.startsWith('oidc_tx_'))
}

function cookieHeaderBytes(jar: CookieJar, url: string): number {
  return Buffer.byteLength(jar.header(`${url}/oidc/auth`))
}

// A state near the adapter's limits: the most override text it carries into the cookie.
function buildLargeState(index: number): string {
  const state: Record<string, unknown> = { room: `room-${index}-${'r'.repeat(60)}`, tenant: 'acme' }
  for (let n = 0; n < 40; n++) state[`config.option${n}`] = 'v'.repeat(30)
  return JSON.stringify(state)
}

describe('transaction cookies of abandoned logins', () => {
  let rig: Rig

  before(async () => {
    rig = await startRig()
  })
  after(() => rig.close())

  it(`keeps at most ${cap} login cookies after 40 abandoned starts, and a new login still completes`, async () => {
    const jar = new CookieJar()
    for (let n = 0; n < 40; n++) {
      const start = await get(`${rig.adapter.url}/oidc/auth?roomname=standup${n}`, jar)
      assert.equal(start.status, 302)
      assert.ok(transactionCookies(jar, rig.adapter.url).length <= cap)
    }
    assert.equal(transactionCookies(jar, rig.adapter.url).length, cap)

    const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`, { jar })
    assert.equal(login.callback.status, 302)
    assert.match(login.finalUrl ?? '', /^https:\/\/meet\.example\.com\/standup#jwt=/)
    assert.equal(transactionCookies(jar, rig.adapter.url).length, cap - 1)
  })

  it('keeps the login cookies under the byte budget when every start carries a large state', async () => {
    const jar = new CookieJar()
    for (let n = 0; n < 20; n++) {
      const state = encodeURIComponent(buildLargeState(n))
      const start = await get(`${rig.adapter.url}/oidc/auth?state=${state}`, jar)
      assert.equal(start.status, 302)
      for (const line of start.headers.getSetCookie()) {
        assert.ok(line.split(';')[0]!.length <= 4096, 'browsers drop a cookie over 4096 bytes')
      }
      assert.ok(cookieHeaderBytes(jar, rig.adapter.url) <= maxTransactionCookieBytes)
    }

    const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`, { jar })
    assert.equal(login.callback.status, 302)
  })

  it('completes two logins started in two tabs of one browser', async () => {
    const jar = new CookieJar()
    const first = await get(`${rig.adapter.url}/oidc/auth?roomname=first`, jar)
    const second = await get(`${rig.adapter.url}/oidc/auth?roomname=second`, jar)
    assert.equal(transactionCookies(jar, rig.adapter.url).length, 2)

    const firstLeg = await passProvider(first.headers.get('location')!, jar, 'ana')
    const secondLeg = await passProvider(second.headers.get('location')!, jar, 'ana')
    const secondCallback = await get(secondLeg.callbackUrl, jar)
    const firstCallback = await get(firstLeg.callbackUrl, jar)

    assert.match(
      secondCallback.headers.get('location') ?? '',
      /^https:\/\/meet\.example\.com\/second#jwt=/,
    )
    assert.match(
      firstCallback.headers.get('location') ?? '',
      /^https:\/\/meet\.example\.com\/first#jwt=/,
    )
    assert.deepEqual(transactionCookies(jar, rig.adapter.url), [])
  })
})

describe('selectStaleTransactionCookies', () => {
  const name = (startedMs: number, hash: string) =>
    `oidc_tx_${startedMs.toString(36).padStart(9, '0')}_${hash}`

  it('drops the oldest cookies first so that the new one makes the cap', () => {
    const cookies = Object.fromEntries(
      [5, 1, 4, 2, 3, 6].map((n) => [name(1_700_000_000_000 + n, `hash${n}`), 'x']),
    )
    assert.deepEqual(selectStaleTransactionCookies(cookies, 100), [
      name(1_700_000_000_002, 'hash2'),
      name(1_700_000_000_001, 'hash1'),
    ])
  })

  it('drops cookies without a start time before any dated one', () => {
    const cookies = {
      oidc_tx_abcdefghijklmnop: 'x',
      [name(1_700_000_000_000, 'hash0')]: 'x',
      session: 'not ours',
    }
    assert.deepEqual(selectStaleTransactionCookies(cookies, maxTransactionCookieBytes - 30), [
      'oidc_tx_abcdefghijklmnop',
    ])
  })

  it('drops older cookies once the byte budget is spent, even under the count cap', () => {
    const big = 'x'.repeat(3000)
    const cookies = {
      [name(3, 'new')]: big,
      [name(2, 'mid')]: big,
      [name(1, 'old')]: 'x',
    }
    assert.deepEqual(selectStaleTransactionCookies(cookies, 3000), [name(2, 'mid'), name(1, 'old')])
  })
})
