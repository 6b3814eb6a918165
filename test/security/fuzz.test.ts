import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'

import fc from 'fast-check'

import { startBadProvider, type BadProvider } from '../support/bad-provider.js'
import { buildInjectableApp, jitsiOrigin, type InjectableApp } from './support.js'

/** Generated requests per property run; the whole file stays well under a minute. */
const fuzzRuns = 10_000
const sampledLogins = 40

const hostileFragments = [
  '../',
  '..%2F',
  '%2e%2e%2f',
  '%2F%2F',
  '//evil.example',
  '\\\\evil',
  '/\\evil.example',
  '@evil',
  'evil.example@',
  'javascript:alert(1)',
  'https://evil.example',
  '\r\n',
  '%0d%0aSet-Cookie:%20x=y',
  '\u0000',
  '\u202e',
  '%E0%A4%A',
  '%C0%AF',
  '%ff%fe',
  '%',
  '%%32%66',
  '\ud800',
  'İ',
  'ß',
  'Ｍｅｅｔ',
  '*',
  '{state}',
  '<script>',
  '"\'`',
  '__proto__',
]

const fragment = fc.oneof(
  fc.constantFrom(...hostileFragments),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/),
)

const text = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.array(fragment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('')),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('a'.repeat(4200), `${'x/'.repeat(2100)}room`, '%41'.repeat(1500)),
  },
)

/** State JSON: Jitsi's shape with hostile values, JSON that is not an object, deep nesting. */
const stateJson = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .record(
        {
          room: fc.oneof(text, fc.jsonValue({ maxDepth: 2 })),
          roomSafe: text,
          tenant: fc.oneof(text, fc.constant(''), fc.integer()),
          'config.subject': fc.jsonValue({ maxDepth: 3 }),
          'config.__proto__.x': fc.constant(true),
          ios: fc.boolean(),
          android: fc.boolean(),
          electron: fc.boolean(),
          moderator: fc.constant(true),
          sub: fc.constant('*'),
        },
        { requiredKeys: [] },
      )
      .map((state) => JSON.stringify(state)),
  },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 3000 })
      .map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 3000 })
      .map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  },
  { weight: 1, arbitrary: text },
)

/** How a value goes into the query: properly encoded, raw printable, or with broken escapes. */
function encodeValue(value: string, mode: number): string {
  if (mode === 0) {
    try {
      return encodeURIComponent(value)
    } catch {
      return value.replace(/[^\w]/g, '%E0%A4')
    }
  }
  if (mode === 1)
    return value.replace(
      /[^\x21-\x7e]|[#&%]/g,
      (char) => `%${(char.charCodeAt(0) & 0xff).toString(16).padStart(2, '0')}`,
    )
  return `${encodeURIComponent(value.replace(/[\ud800-\udfff]/g, ''))}%${mode === 2 ? 'G1' : 'C3%28'}`
}

const query = fc
  .record(
    {
      roomname: text,
      room: text,
      tenant: text,
      state: stateJson,
      nonce: fc.constantFrom('', 'n0nce', '{nonce}'),
      extra: fc.constantFrom('roomname', 'state', 'tenant'),
    },
    { requiredKeys: [] },
  )
  .chain((params) =>
    fc.tuple(
      fc.constant(params),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 6, maxLength: 6 }),
      fc.boolean(),
    ),
  )
  .map(([params, modes, upperCase]) => {
    const entries = Object.entries(params).map(([key, value], index) => {
      // `extra` repeats a parameter: the parser must refuse what appears twice.
      const name =
        key === 'extra' ? (value as string) : upperCase && index === 0 ? key.toUpperCase() : key
      return `${name}=${encodeValue(key === 'extra' ? 'dup' : (value as string), modes[index]!)}`
    })
    return entries.join('&')
  })

describe('fuzzing /oidc/auth', () => {
  let provider: BadProvider
  let app: InjectableApp
  let authorizationEndpoint: string
  before(async () => {
    provider = await startBadProvider()
    app = await buildInjectableApp(provider)
    authorizationEndpoint = `${provider.issuer}/auth?`
  })
  after(async () => {
    await app.close()
    await provider.close()
  })

  it(`answers ${fuzzRuns} generated requests with a redirect to the provider or a 4xx page, never 5xx`, async () => {
    const valid: string[] = []
    let refused = 0
    await fc.assert(
      fc.asyncProperty(query, async (search) => {
        const response = await app.app.inject({ method: 'GET', url: `/oidc/auth?${search}` })
        if (response.statusCode === 302) {
          const location = response.headers.location as string
          assert.ok(location.startsWith(authorizationEndpoint), location)
          assert.equal(
            new URL(location).searchParams.get('redirect_uri'),
            app.config.jitsi.redirectUri,
          )
          if (valid.length < sampledLogins) valid.push(search)
          return
        }
        refused++
        assert.ok(
          response.statusCode >= 400 && response.statusCode < 500,
          `${response.statusCode} for ${search}`,
        )
        assert.match(response.body, /<code>ERR_(JITSI|HTTP)_[A-Z_]+<\/code>/)
        assert.equal(response.headers.location, undefined)
      }),
      { numRuns: fuzzRuns },
    )
    assert.ok(valid.length >= 10, `only ${valid.length} generated requests were valid`)
    assert.ok(refused >= fuzzRuns / 4, `only ${refused} generated requests were refused`)

    for (const search of valid) await assertLoginStaysHome(app, provider, search)
  })

  it('keeps every entry of the open-redirect corpus on the Jitsi origin, in every entry form', async () => {
    const corpus = readFileSync(
      new URL('../../../test/fixtures/open-redirects.txt', import.meta.url),
      'utf8',
    )
      .split('\n')
      .map((line) => line.replace(/\r$/, ''))
      .filter((line) => line !== '' && !line.startsWith('# '))
    assert.ok(corpus.length >= 60)

    const forms = (entry: string) => [
      `roomname=${encodeURIComponent(entry)}`,
      `room=${encodeURIComponent(entry)}`,
      `roomname=ok&tenant=${encodeURIComponent(entry)}`,
      `roomname=${encodeURIComponent(`${entry}/ok`)}`,
      `roomname=${encodeURIComponent(`team/${entry}`)}`,
      `state=${encodeURIComponent(JSON.stringify({ room: entry }))}`,
      `state=${encodeURIComponent(JSON.stringify({ room: 'ok', tenant: entry }))}`,
      `state=${encodeURIComponent(JSON.stringify({ room: entry, ios: true }))}`,
      `state=${encodeURIComponent(JSON.stringify({ room: entry, android: true }))}`,
      `state=${encodeURIComponent(JSON.stringify({ room: entry, electron: true }))}`,
      `state=${encodeURIComponent(JSON.stringify({ room: entry }))}&nonce=popup`,
    ]
    let accepted = 0
    for (const entry of corpus) {
      for (const search of forms(entry)) {
        const response = await app.app.inject({ method: 'GET', url: `/oidc/auth?${search}` })
        if (response.statusCode !== 302) {
          assert.ok(
            response.statusCode >= 400 && response.statusCode < 500,
            `${response.statusCode} for ${search}`,
          )
          continue
        }
        accepted++
        await assertLoginStaysHome(app, provider, search)
      }
    }
    assert.ok(accepted > 0)
  })
})

/**
 * Completes a login for `search` and checks every way out: the final redirect, or each link on
 * the app or popup page, has JITSI_BASE_URL's host (apps: as the deep link's authority).
 */
async function assertLoginStaysHome(
  app: InjectableApp,
  provider: BadProvider,
  search: string,
): Promise<void> {
  const start = await app.app.inject({ method: 'GET', url: `/oidc/auth?${search}` })
  assert.equal(start.statusCode, 302)
  const cookie = start.cookies.map((c) => `${c.name}=${c.value}`).join('; ')
  const callback = new URL(await provider.authorize(start.headers.location as string))
  const done = await app.app.inject({
    method: 'GET',
    url: `${callback.pathname}${callback.search}`,
    headers: { cookie },
  })

  if (done.statusCode === 302) {
    const location = done.headers.location as string
    assert.equal(new URL(location).origin, jitsiOrigin, location)
    assert.ok(
      location.startsWith(`${jitsiOrigin}/`) && !location.startsWith(`${jitsiOrigin}//`),
      location,
    )
    return
  }
  assert.equal(done.statusCode, 200, `${done.statusCode} ${search}: ${done.body.slice(0, 300)}`)
  const links = [...done.body.matchAll(/href="([^"]*)"/g)].map((m) =>
    m[1]!.replace(/&#(\d+);/g, (_x, c: string) => String.fromCharCode(Number(c))),
  )
  const data = /<script type="application\/json" id="return-data">([\s\S]*?)<\/script>/.exec(
    done.body,
  )?.[1]
  const parsed = data
    ? (JSON.parse(data) as { link?: string; fallback?: string; origin?: string })
    : {}
  for (const link of [...links, parsed.link, parsed.fallback].filter(
    (value): value is string => !!value,
  )) {
    const url = new URL(link)
    if (url.protocol === 'https:') assert.equal(url.origin, jitsiOrigin, link)
    else
      assert.ok(
        ['org.jitsi.meet:', 'jitsi-meet:', 'intent:'].includes(url.protocol) &&
          url.host === 'meet.example.com',
        link,
      )
  }
  if (parsed.origin) assert.equal(parsed.origin, jitsiOrigin)
}
