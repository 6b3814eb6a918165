import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import {
  findFreePort,
  startAdapter,
  startRig,
  type Rig,
  type TestAdapter,
} from '../support/harness.js'

async function getJson(url: string): Promise<{ status: number; body: unknown; text: string }> {
  const response = await fetch(url)
  const text = await response.text()
  return { status: response.status, body: JSON.parse(text), text }
}

describe('health and readiness with the provider up', () => {
  let rig: Rig
  before(async () => {
    rig = await startRig()
  })
  after(() => rig.close())

  it('answers /oidc/health with 200 and a status only', async () => {
    const { status, body } = await getJson(`${rig.adapter.url}/oidc/health`)
    assert.equal(status, 200)
    assert.deepEqual(body, { status: 'ok', service: 'jitsi-oidc-adapter' })
  })

  it('answers /oidc/ready with 200 once discovery and the JWKS are loaded', async () => {
    const { status, body } = await getJson(`${rig.adapter.url}/oidc/ready`)
    assert.equal(status, 200)
    assert.deepEqual(body, { status: 'ready', provider: 'ready' })
  })
})

describe('health and readiness with the provider down', () => {
  let adapter: TestAdapter
  let issuer: string
  before(async () => {
    issuer = `http://127.0.0.1:${await findFreePort()}`
    adapter = await startAdapter({ OIDC_ISSUER_URL: issuer })
  })
  after(() => adapter.close())

  it('stays alive: /oidc/health answers 200', async () => {
    const { status, body } = await getJson(`${adapter.url}/oidc/health`)
    assert.equal(status, 200)
    assert.deepEqual(body, { status: 'ok', service: 'jitsi-oidc-adapter' })
  })

  it('is not ready: /oidc/ready answers 503 with the error code and the retry delay', async () => {
    const { status, body } = await getJson(`${adapter.url}/oidc/ready`)
    assert.equal(status, 503)
    // The delay doubles from 1 s with each failed attempt; a slow machine may see a later one.
    const { retryInSeconds, ...rest } = body as { retryInSeconds: number }
    assert.deepEqual(rest, {
      status: 'not-ready',
      provider: 'unavailable',
      code: 'ERR_OIDC_PROVIDER_UNAVAILABLE',
    })
    assert.ok([1, 2, 4].includes(retryInSeconds), `retryInSeconds ${retryInSeconds}`)
  })

  it('reveals no configuration value in either answer', async () => {
    const texts = await Promise.all(
      ['/oidc/health', '/oidc/ready'].map(async (path) => (await getJson(adapter.url + path)).text),
    )
    const values = [issuer, new URL(issuer).host, 'jitsi-test', 'meet.example.com', 'jitsi_app']
    for (const text of texts) {
      for (const value of values) assert.ok(!text.includes(value), `${value} in ${text}`)
    }
  })
})
