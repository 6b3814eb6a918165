/**
 * Drives a login the way a browser would, without one: follows redirects by hand, keeps a
 * cookie jar per origin, and fills in oidc-provider's development login form. The adapter's
 * answers are returned as they are, so tests can assert on every hop.
 */
export class CookieJar {
  readonly #cookies = new Map<string, Map<string, string>>()

  header(url: string): string {
    const jar = this.#cookies.get(new URL(url).origin)
    return jar ? [...jar].map(([name, value]) => `${name}=${value}`).join('; ') : ''
  }

  store(url: string, response: Response): void {
    const origin = new URL(url).origin
    const jar = this.#cookies.get(origin) ?? new Map<string, string>()
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const index = pair!.indexOf('=')
      const name = pair!.slice(0, index).trim()
      const value = pair!.slice(index + 1).trim()
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name)
      else jar.set(name, value)
    }
    this.#cookies.set(origin, jar)
  }

  names(url: string): string[] {
    return [...(this.#cookies.get(new URL(url).origin)?.keys() ?? [])]
  }

  clone(): CookieJar {
    const copy = new CookieJar()
    for (const [origin, jar] of this.#cookies) copy.#cookies.set(origin, new Map(jar))
    return copy
  }
}

export async function get(
  url: string,
  jar: CookieJar,
  headers: Record<string, string> = {},
): Promise<Response> {
  const cookie = jar.header(url)
  const response = await fetch(url, {
    redirect: 'manual',
    headers: { ...headers, ...(cookie ? { cookie } : {}) },
  })
  jar.store(url, response)
  return response
}

async function post(url: string, jar: CookieJar, form: Record<string, string>): Promise<Response> {
  const cookie = jar.header(url)
  const response = await fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(form),
  })
  jar.store(url, response)
  return response
}

function location(response: Response, base: string): string {
  const value = response.headers.get('location')
  if (!value) throw new Error(`expected a redirect from ${base}, got ${response.status}`)
  return new URL(value, base).href
}

export interface ProviderLegResult {
  /** The callback URL the provider sent the browser to (code and state, or an error). */
  callbackUrl: string
}

/**
 * From the provider's authorization URL to the callback URL: logs in at oidc-provider's
 * development form as `login` (or cancels there when `login` is undefined) and follows its
 * redirects until one leaves the provider.
 */
export async function passProvider(
  authorizeUrl: string,
  jar: CookieJar,
  login: string | undefined,
  options: { expectNoPrompt?: boolean } = {},
): Promise<ProviderLegResult> {
  const providerOrigin = new URL(authorizeUrl).origin
  let url = authorizeUrl
  for (let hop = 0; hop < 12; hop++) {
    if (new URL(url).origin !== providerOrigin) return { callbackUrl: url }
    const response = await get(url, jar)
    if (response.status >= 300 && response.status < 400) {
      url = location(response, url)
      continue
    }
    const page = await response.text()
    const uid = /\/interaction\/([\w-]+)/.exec(url)?.[1]
    if (response.status !== 200 || !uid)
      throw new Error(`unexpected provider page ${response.status} at ${url}`)

    if (options.expectNoPrompt) throw new Error(`the provider asked again at ${url}`)
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1]
    const abort = /<a href="([^"]+)">\[ Cancel \]<\/a>/.exec(page)?.[1]
    if (!action || !abort) throw new Error(`no form on the provider page at ${url}`)
    const hidden = Object.fromEntries(
      [...page.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)"/g)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    )

    const next =
      login === undefined
        ? await get(new URL(abort, url).href, jar)
        : await post(new URL(action, url).href, jar, {
            ...hidden,
            ...(hidden['prompt'] === 'login' ? { login, password: 'any' } : {}),
          })
    url = location(next, url)
  }
  throw new Error('too many redirects at the provider')
}

export interface LoginResult {
  start: Response
  callback: Response
  callbackUrl: string
  /** The final Location, when the adapter redirected. */
  finalUrl?: string
}

/** One complete login: the adapter's start URL, the provider, and the adapter's callback. */
export async function runLogin(
  startUrl: string,
  options: { jar?: CookieJar; login?: string; accept?: string } = {},
): Promise<LoginResult & { jar: CookieJar }> {
  const jar = options.jar ?? new CookieJar()
  const headers: Record<string, string> = options.accept ? { accept: options.accept } : {}
  const start = await get(startUrl, jar, headers)
  if (start.status !== 302)
    throw new Error(`login start answered ${start.status}: ${await start.text()}`)
  const { callbackUrl } = await passProvider(
    location(start, startUrl),
    jar,
    'login' in options ? options.login : 'ana',
  )
  const callback = await get(callbackUrl, jar, headers)
  const finalUrl = callback.headers.get('location') ?? undefined
  return { start, callback, callbackUrl, jar, ...(finalUrl ? { finalUrl } : {}) }
}
