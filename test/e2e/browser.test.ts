import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { after, before, describe, it } from 'node:test'

import { chromium, type Browser, type Page } from 'playwright-core'

import { chromiumPath, findMissingTools, startStack, type Stack } from './stack.js'

const missing = findMissingTools()
// The committed screenshots change only on request (E2E_SCREENSHOTS=1), not on every run.
const screenshots = process.env['E2E_SCREENSHOTS']
  ? new URL('../../../docs/screenshots/', import.meta.url).pathname
  : `${tmpdir()}/`

interface Joined {
  header: Record<string, unknown>
  claims: Record<string, unknown>
  config: Record<string, unknown>
  path: string
}

const anaUser = {
  id: 'ana',
  name: 'Ana Host',
  email: 'ana@example.org',
  avatar: 'https://avatars.example.org/ana.png',
  affiliation: 'owner',
  moderator: true,
}

/** oidc-provider's own development login form. */
async function signInAtProvider(page: Page, login = 'ana'): Promise<void> {
  await page.locator('input[name=login]').fill(login)
  await page.locator('input[name=password]').fill('any password')
  await page.locator('button[type=submit]').click()
}

/** What the stand-in meeting page decoded from the token it was given. */
async function readJoined(page: Page): Promise<Joined> {
  const text = await page.locator('#claims-json').textContent()
  return JSON.parse(text!) as Joined
}

describe('in Chromium, through nginx, at the provider login form', { skip: missing }, () => {
  let stack: Stack
  let browser: Browser
  before(async () => {
    stack = await startStack()
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
  })
  after(async () => {
    await browser?.close()
    await stack?.close()
  })

  // Every inline script and style carries a CSP hash: a mismatch silently disables the page.
  const cspViolations: string[] = []

  async function openPage(path: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 960, height: 720 } })
    context.setDefaultTimeout(10_000)
    context.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) cspViolations.push(message.text())
    })
    const page = await context.newPage()
    await page.goto(`${stack.origin}${path}`)
    return page
  }

  async function logInFrom(path: string): Promise<{ page: Page; joined: Joined }> {
    const page = await openPage(path)
    await page.locator('#login').click()
    await signInAtProvider(page)
    await page.locator('#joined').waitFor()
    return { page, joined: await readJoined(page) }
  }

  it('logs a host in from the Log-in button and lands in the room with the token in the hash', async () => {
    const { page, joined } = await logInFrom('/Standup')

    assert.match(
      page.url(),
      new RegExp(
        `^${stack.origin}/Standup#jwt=%22[\\w-]+\\.[\\w-]+\\.[\\w-]+%22&config\\.prejoinConfig\\.enabled=false$`,
      ),
    )
    assert.deepEqual(joined.header, { alg: 'HS256', typ: 'JWT' })
    assert.equal(joined.path, '/Standup')
    assert.deepEqual(
      { ...joined.claims, iat: 0, nbf: 0, exp: 0 },
      {
        aud: 'jitsi',
        iss: 'jitsi_app',
        sub: '127.0.0.1',
        room: 'standup',
        iat: 0,
        nbf: 0,
        exp: 0,
        context: { user: anaUser },
      },
    )
    assert.deepEqual(joined.config, { 'config.prejoinConfig.enabled': false })
    await page.screenshot({ path: `${screenshots}meeting-after-login.png`, fullPage: true })
    await page.context().close()
  })

  it('returns a mixed-case tenant room to /Team/Daily with sub "team"', async () => {
    const { page, joined } = await logInFrom('/Team/Daily')
    assert.equal(joined.path, '/Team/Daily')
    assert.equal(joined.claims['room'], 'daily')
    assert.equal(joined.claims['sub'], 'team')
    await page.context().close()
  })

  it('gives Räksmörgås the UTF-8 path and the backend-safe room claim', async () => {
    const { page, joined } = await logInFrom('/Räksmörgås')
    assert.equal(joined.path, '/R%C3%A4ksm%C3%B6rg%C3%A5s')
    assert.equal(joined.claims['room'], 'r%c3%a4ksm%c3%b6rg%c3%a5s')
    await page.context().close()
  })

  it("carries the page's config hash through the login with its JSON types", async () => {
    const { page, joined } = await logInFrom(
      '/Weekly#config.subject="Weekly"&config.startWithAudioMuted=true',
    )
    assert.deepEqual(joined.config, {
      'config.prejoinConfig.enabled': false,
      'config.subject': 'Weekly',
      'config.startWithAudioMuted': true,
    })
    assert.match(
      page.url(),
      /#jwt=%22[\w.-]+%22&config\.prejoinConfig\.enabled=false&config\.subject=%22Weekly%22&config\.startWithAudioMuted=true$/,
    )
    await page.context().close()
  })

  it('logs in through a popup that posts the token to the meeting page, and logs out in a hidden iframe', async () => {
    const page = await openPage('/Weekly?popup=1')
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.locator('#login').click()])
    // Listen first: the popup may post and close before a later listener is attached.
    const closed = popup.waitForEvent('close')
    await signInAtProvider(popup)
    await closed

    await page.locator('#joined').waitFor()
    const joined = await readJoined(page)
    assert.equal(joined.path, '/Weekly')
    assert.equal(joined.claims['room'], 'weekly')
    assert.deepEqual((joined.claims['context'] as { user: unknown }).user, anaUser)

    await page.locator('#logout').click()
    await page.locator('#signed-out').waitFor()
    assert.equal(page.url(), `${stack.origin}/Weekly?popup=1`)
    await page.context().close()
  })

  it('tells the meeting page when the user cancels in the popup', async () => {
    const page = await openPage('/Weekly?popup=1')
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.locator('#login').click()])
    await popup.getByText('[ Cancel ]').click()
    await popup.locator('h1', { hasText: 'Sign-in cancelled' }).waitFor()
    assert.equal(
      await page.locator('#popup-error').textContent(),
      'Login failed: ERR_OIDC_ACCESS_DENIED',
    )
    await page.context().close()
  })

  it('shows the sign-in cancelled page with a way back as a guest when the user cancels', async () => {
    const page = await openPage('/Standup')
    await page.locator('#login').click()
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${stack.origin}/oidc/redirect`)),
      page.getByText('[ Cancel ]').click(),
    ])
    assert.equal(response.status(), 403)
    assert.equal(await page.locator('h1').textContent(), 'Sign-in cancelled')
    assert.equal(
      await page.getByText('Join as a guest').getAttribute('href'),
      `${stack.origin}/Standup`,
    )
    await page.screenshot({ path: `${screenshots}error-cancelled.png`, fullPage: true })
    await page.context().close()
  })

  it('ends the provider session at logout, so the next login shows the login form again', async () => {
    const { page } = await logInFrom('/Standup')
    await page.locator('#logout').click()
    await page.locator('button[name=logout][value=yes]').click()
    await page.locator('#room-input').waitFor()
    assert.equal(page.url(), `${stack.origin}/`)

    await page.goto(`${stack.origin}/Standup`)
    await page.locator('#login').click()
    await page.locator('input[name=login]').waitFor()
    assert.match(page.url(), new RegExp(`^${stack.idp.issuer}/interaction/`))
    await page.context().close()
  })

  it("sends the host to the adapter from Jitsi's I-am-the-host dialog through the page script", async () => {
    const page = await openPage('/Standup?dialog=host')
    assert.equal(
      await page.locator('#modal-dialog-ok-button').getAttribute('data-oidc-adapter'),
      'dialog.IamHost',
    )
    await page.locator('#modal-dialog-ok-button').click()
    await signInAtProvider(page)
    await page.locator('#joined').waitFor()
    const joined = await readJoined(page)
    assert.equal(joined.path, '/Standup')
    assert.equal(joined.claims['room'], 'standup')
    await page.context().close()
  })

  it('leaves the login dialog for the adapter at once, with tenant and config hash', async () => {
    const page = await openPage('/Team/Daily?dialog=login#config.subject="Weekly"')
    await signInAtProvider(page)
    await page.locator('#joined').waitFor()
    const joined = await readJoined(page)
    assert.equal(joined.path, '/Team/Daily')
    assert.equal(joined.claims['sub'], 'team')
    assert.deepEqual(joined.config, {
      'config.prejoinConfig.enabled': false,
      'config.subject': 'Weekly',
    })
    await page.context().close()
  })

  it("finds the host dialog from React's props when the button has no data attribute", async () => {
    const page = await openPage('/Standup?dialog=host-react')
    await page.locator('#modal-dialog-ok-button').click()
    await page.locator('input[name=login]').waitFor()
    assert.match(page.url(), new RegExp(`^${stack.idp.issuer}/interaction/`))
    await page.context().close()
  })

  it('gives the iOS app a return page with a deep link on the Jitsi host', async () => {
    const page = await openPage('/Standup?platform=ios')
    await page.locator('#login').click()
    await signInAtProvider(page)
    await page.locator('h1', { hasText: 'You are signed in' }).waitFor()
    const link = new URL((await page.getByText('Return to the app').getAttribute('href'))!)
    assert.equal(link.protocol, 'org.jitsi.meet:')
    assert.equal(link.host, new URL(stack.origin).host)
    assert.equal(link.pathname, '/Standup')
    assert.equal(link.hash, '#config.prejoinConfig.enabled=false')
    assert.match(link.searchParams.get('jwt')!, /^[\w-]+\.[\w-]+\.[\w-]+$/)
    await page.screenshot({ path: `${screenshots}app-return.png`, fullPage: true })
    await page.context().close()
  })

  it("breaks none of the adapter pages' content security policies", () => {
    assert.deepEqual(cspViolations, [])
  })

  it("keeps codes, state and tokens out of nginx's /oidc/ access log", async () => {
    const log = await readFile(stack.accessLogPath, 'utf8')
    assert.match(log, /"GET \/oidc\/redirect" 302 /)
    assert.match(log, /"GET \/oidc\/auth" 302 /)
    assert.doesNotMatch(log, /code=|state=|jwt|\?/)
  })

  it("writes nothing to nginx's error log while the adapter is up", async () => {
    // A method the location refuses must not log its request line, code included.
    const post = await fetch(`${stack.origin}/oidc/redirect?code=SECRETCODE&state=s`, {
      method: 'POST',
    })
    assert.equal(post.status, 405)
    // Workers run unprivileged, as on Debian; a log they cannot open lands here with the
    // whole request line, authorization code included.
    const log = await readFile(stack.errorLogPath, 'utf8')
    assert.doesNotMatch(log, /\[(crit|alert|emerg|error)\]|code=|SECRETCODE/)
  })
})
