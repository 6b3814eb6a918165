import assert from 'node:assert/strict'
import { it } from 'node:test'

import { decodeJwt, findFreePort, tokenFromUrl } from '../support/harness.js'
import { runLogin } from '../support/login-driver.js'
import { mainJs, spawnCli } from './support.js'

it('runs the quick-start demo: a login through the stand-in page, settings passed through', async () => {
  const [idpPort, meetingPort, adapterPort, metricsPort] = [
    await findFreePort(),
    await findFreePort(),
    await findFreePort(),
    await findFreePort(),
  ]
  const demo = spawnCli(process.execPath, [mainJs, 'demo'], {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    DEMO_IDP_PORT: String(idpPort),
    DEMO_MEETING_PORT: String(meetingPort),
    DEMO_ADAPTER_PORT: String(adapterPort),
    MODERATOR_GROUPS: 'moderators',
    METRICS_PORT: String(metricsPort),
    LOG_FORMAT: 'json',
  })
  try {
    const banner = await demo.waitForStdout(/Press Ctrl\+C to stop/, 20_000)
    assert.ok(banner.includes(`http://127.0.0.1:${meetingPort}/Standup`), banner)

    // The demo's provider puts ana in "moderators" and ben in no group (demo/idp.ts).
    for (const [login, moderator] of [
      ['ana', true],
      ['ben', false],
    ] as const) {
      const result = await runLogin(`http://127.0.0.1:${adapterPort}/oidc/auth?roomname=Standup`, {
        login,
      })
      assert.equal(result.callback.status, 302)
      const { payload } = decodeJwt(tokenFromUrl(result.finalUrl!))
      const user = (payload['context'] as { user: { id: string; moderator: boolean } }).user
      assert.deepEqual([user.id, user.moderator], [login, moderator])
    }

    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    assert.equal(metrics.status, 200)
    assert.match(await metrics.text(), /jitsi_oidc_/)

    // The banner and the log are output too: no secret in them, not even the demo's own.
    const output = demo.stdout() + demo.stderr()
    for (const secret of ['demo-only-app-secret', 'demo-only-client-secret', 'eyJ']) {
      assert.ok(!output.includes(secret), `the demo's output shows ${secret}`)
    }
  } finally {
    assert.equal(await demo.stop(), 0)
  }
})
