import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import {
  createServer,
  get as httpGet,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { Agent as HttpsAgent, createServer as createTlsServer, get as httpsGet } from 'node:https'
import type { AddressInfo } from 'node:net'

import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'

/**
 * A small OpenID provider of our own whose answers each test can bend: it signs ID tokens with
 * the wrong key, the wrong claims or no signature at all, hangs, answers HTML or goes away.
 * oidc-provider (demo/idp.ts) is certified and will not misbehave; this one exists to.
 */

export type SigningAlg = 'RS256' | 'ES256' | 'PS256'

/** How one endpoint fails; `undefined` means it answers properly. */
export type Fault =
  | { kind: 'hang' }
  | { kind: 'delay'; ms: number }
  | { kind: 'status'; status: number; body?: string; contentType?: string }
  | { kind: 'html' }
  | { kind: 'truncated' }
  | { kind: 'reset' }

export interface Behaviour {
  /** Merged over the discovery document; a value of `undefined` removes the field. */
  discovery?: Record<string, unknown>
  /** Which key signs the ID token: one of the JWKS keys, a key not in the JWKS, or none. */
  signWith?: SigningAlg | 'rotated' | 'foreign' | 'foreign-same-kid' | 'none'
  /** Leave `kid` out of the ID token header. */
  omitKid?: boolean
  /** Flip a byte of the ID token signature. */
  tamperSignature?: boolean
  /** Rewrites the ID token claims before signing. */
  idTokenClaims?: (
    claims: Record<string, unknown>,
    issued: { accessToken: string },
  ) => Record<string, unknown>
  /** Rewrites the token endpoint's JSON answer. */
  tokenResponse?: (body: Record<string, unknown>) => Record<string, unknown>
  /** Rewrites the userinfo answer. */
  userinfo?: (claims: Record<string, unknown>) => Record<string, unknown>
  /** Extra or replaced parameters on the redirect back to the client. */
  callbackParams?: (params: URLSearchParams) => void
  /** Answer `prompt=none` with `login_required`: no provider session. */
  noSession?: boolean
  /** Serve only the keys with these kids in the JWKS (default: all of them). */
  jwksKids?: readonly string[]
  /** Serve the JWKS keys without their `kid`. */
  jwksWithoutKids?: boolean
  faults?: Partial<Record<'discovery' | 'token' | 'jwks' | 'userinfo', Fault>>
}

/** Everything the provider handed out, so leak tests can look for each value in the logs. */
export interface Issued {
  codes: string[]
  idTokens: string[]
  accessTokens: string[]
  refreshTokens: string[]
  /** PKCE verifiers the client sent to the token endpoint. */
  verifiers: string[]
}

interface PendingCode {
  clientId: string
  redirectUri: string
  nonce: string | undefined
  codeChallenge: string
  scope: string
  used: boolean
}

interface SigningKey {
  kid: string
  alg: SigningAlg
  privateKey: CryptoKey
  jwk: JWK
}

export interface BadProvider {
  issuer: string
  port: number
  clientId: string
  clientSecret: string
  behaviour: Behaviour
  issued: Issued
  /** Every request the provider received, by endpoint name. */
  calls: Array<{ endpoint: string; url: URL; headers: IncomingMessage['headers']; body: string }>
  count(endpoint: string): number
  /** Resets the behaviour (and the call log) between tests. */
  behave(behaviour: Behaviour): void
  /** Adds a new signing key with a new `kid`; ID tokens are signed with it from now on. */
  rotate(): Promise<string>
  /** Stops listening (connections are refused) until `resume()`; the port is kept. */
  pause(): Promise<void>
  resume(): Promise<void>
  /** Follows the authorization URL the adapter sent the browser to; returns the callback URL. */
  authorize(authorizationUrl: string): Promise<string>
  close(): Promise<void>
}

const realmPath = '/realms/test'

/** PEM texts for serving over https: the server's key and certificate, and the CA that signed it. */
export interface ProviderTls {
  key: string
  cert: string
  ca: string
}

export async function startBadProvider(
  options: { clientId?: string; clientSecret?: string; port?: number; tls?: ProviderTls } = {},
): Promise<BadProvider> {
  const clientId = options.clientId ?? 'jitsi-test'
  const clientSecret = options.clientSecret ?? 'bad-provider-client-secret-0123456789'
  const keys = new Map<string, SigningKey>()
  for (const alg of ['RS256', 'ES256', 'PS256'] as const) keys.set(alg, await buildKey(alg))
  const foreign = await buildKey('RS256', 'foreign-1')
  const foreignSameKid = await buildKey('RS256', keys.get('RS256')!.kid)
  let rotated: SigningKey | undefined

  const codes = new Map<string, PendingCode>()
  const accessTokens = new Map<string, { sub: string }>()
  const tls = options.tls
  const scheme = tls ? 'https' : 'http'
  const buildServer = (): Server =>
    tls ? (createTlsServer({ key: tls.key, cert: tls.cert }) as unknown as Server) : createServer()
  // The test itself trusts the private CA only for its own calls to this provider.
  const agent = tls ? new HttpsAgent({ ca: tls.ca }) : undefined
  let server: Server = buildServer()
  let port = options.port ?? 0

  const provider: BadProvider = {
    issuer: '',
    port: 0,
    clientId,
    clientSecret,
    behaviour: {},
    issued: { codes: [], idTokens: [], accessTokens: [], refreshTokens: [], verifiers: [] },
    calls: [],
    count: (endpoint) => provider.calls.filter((call) => call.endpoint === endpoint).length,
    behave(behaviour) {
      provider.behaviour = behaviour
      provider.calls.length = 0
    },
    async rotate() {
      rotated = await buildKey('RS256', `rotated-${randomBytes(4).toString('hex')}`)
      return rotated.kid
    },
    async pause() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
    async resume() {
      server = buildServer()
      server.on('request', handle)
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
    },
    async authorize(authorizationUrl) {
      const url = new URL(authorizationUrl)
      const local = new URL(`${url.pathname}${url.search}`, `${scheme}://127.0.0.1:${port}`)
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        const send = tls ? httpsGet : httpGet
        send(local, agent ? { agent } : {}, resolve).on('error', reject)
      })
      let body = ''
      for await (const chunk of response) body += chunk
      const location = response.headers['location']
      if (response.statusCode !== 302 || typeof location !== 'string') {
        throw new Error(`authorization answered ${response.statusCode}: ${body}`)
      }
      return location
    },
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
      agent?.destroy()
    },
  }

  function buildDiscovery(): Record<string, unknown> {
    const base = provider.issuer
    const document: Record<string, unknown> = {
      issuer: base,
      authorization_endpoint: `${base}/auth`,
      token_endpoint: `${base}/token`,
      userinfo_endpoint: `${base}/userinfo`,
      jwks_uri: `${base}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256', 'PS256'],
      scopes_supported: ['openid', 'profile', 'email'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
    }
    for (const [key, value] of Object.entries(provider.behaviour.discovery ?? {})) {
      if (value === undefined) delete document[key]
      else document[key] = value
    }
    return document
  }

  function buildJwks(): { keys: JWK[] } {
    const all = [...keys.values(), ...(rotated ? [rotated] : [])]
    const kids = provider.behaviour.jwksKids
    const chosen = kids ? all.filter((key) => kids.includes(key.kid)) : all
    return {
      keys: chosen.map(({ jwk }) => {
        if (!provider.behaviour.jwksWithoutKids) return jwk
        const { kid: _kid, ...rest } = jwk
        return rest
      }),
    }
  }

  async function signIdToken(claims: Record<string, unknown>): Promise<string> {
    const behaviour = provider.behaviour
    const choice = behaviour.signWith ?? 'RS256'
    if (choice === 'none') {
      const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')
      return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`
    }
    const key =
      choice === 'foreign'
        ? foreign
        : choice === 'foreign-same-kid'
          ? foreignSameKid
          : choice === 'rotated'
            ? rotated!
            : keys.get(choice)!
    const token = await new SignJWT(claims)
      .setProtectedHeader({
        alg: key.alg,
        typ: 'JWT',
        ...(behaviour.omitKid ? {} : { kid: key.kid }),
      })
      .sign(key.privateKey)
    if (!behaviour.tamperSignature) return token
    const [header, payload, signature] = token.split('.')
    const bytes = Buffer.from(signature!, 'base64url')
    bytes[0] = bytes[0]! ^ 0xff
    return `${header}.${payload}.${bytes.toString('base64url')}`
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url!, provider.issuer)
    const body = await readBody(request)
    const path = url.pathname.startsWith(realmPath) ? url.pathname.slice(realmPath.length) : null
    const endpoint =
      path === '/.well-known/openid-configuration' ? 'discovery' : path?.slice(1) || 'unknown'
    provider.calls.push({ endpoint, url, headers: request.headers, body })

    const fault = provider.behaviour.faults?.[endpoint as 'token']
    if (fault && (await applyFault(fault, response))) return

    switch (endpoint) {
      case 'discovery':
        return sendJson(response, 200, buildDiscovery())
      case 'jwks':
        return sendJson(response, 200, buildJwks())
      case 'auth':
        return handleAuthorize(url, response)
      case 'token':
        return handleToken(request, body, response)
      case 'userinfo':
        return handleUserinfo(request, response)
      default:
        return sendJson(response, 404, { error: 'not_found' })
    }
  }

  function handleAuthorize(url: URL, response: ServerResponse): void {
    const query = url.searchParams
    const redirectUri = query.get('redirect_uri')!
    const back = new URL(redirectUri)
    const state = query.get('state')
    if (query.get('prompt') === 'none' && provider.behaviour.noSession) {
      back.searchParams.set('error', 'login_required')
    } else {
      const code = randomBytes(24).toString('base64url')
      codes.set(code, {
        clientId: query.get('client_id')!,
        redirectUri,
        nonce: query.get('nonce') ?? undefined,
        codeChallenge: query.get('code_challenge')!,
        scope: query.get('scope') ?? '',
        used: false,
      })
      provider.issued.codes.push(code)
      back.searchParams.set('code', code)
    }
    if (state !== null) back.searchParams.set('state', state)
    provider.behaviour.callbackParams?.(back.searchParams)
    response.writeHead(302, { location: back.href }).end()
  }

  async function handleToken(
    request: IncomingMessage,
    body: string,
    response: ServerResponse,
  ): Promise<void> {
    const form = new URLSearchParams(body)
    const code = form.get('code') ?? ''
    const pending = codes.get(code)
    if (!isClientAuthenticated(request, form)) {
      return sendJson(response, 401, { error: 'invalid_client' })
    }
    const verifier = form.get('code_verifier') ?? ''
    if (verifier) provider.issued.verifiers.push(verifier)
    const challenge = createHash('sha256').update(verifier).digest('base64url')
    if (
      !pending ||
      pending.used ||
      pending.redirectUri !== form.get('redirect_uri') ||
      pending.codeChallenge !== challenge
    ) {
      return sendJson(response, 400, { error: 'invalid_grant' })
    }
    pending.used = true

    const now = Math.floor(Date.now() / 1000)
    const baseClaims: Record<string, unknown> = {
      iss: provider.issuer,
      sub: 'ana',
      aud: clientId,
      iat: now,
      exp: now + 300,
      ...(pending.nonce ? { nonce: pending.nonce } : {}),
      name: 'Ana Host',
      email: 'ana@example.org',
    }
    const accessToken = randomBytes(24).toString('base64url')
    const claims = provider.behaviour.idTokenClaims?.(baseClaims, { accessToken }) ?? baseClaims
    const idToken = await signIdToken(claims)
    const refreshToken = randomBytes(24).toString('base64url')
    accessTokens.set(accessToken, {
      sub: typeof claims['sub'] === 'string' ? claims['sub'] : 'ana',
    })
    provider.issued.idTokens.push(idToken)
    provider.issued.accessTokens.push(accessToken)
    provider.issued.refreshTokens.push(refreshToken)

    const answer: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 300,
      refresh_token: refreshToken,
      id_token: idToken,
      scope: pending.scope,
    }
    sendJson(response, 200, provider.behaviour.tokenResponse?.(answer) ?? answer)
  }

  function handleUserinfo(request: IncomingMessage, response: ServerResponse): void {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
    const holder = token ? accessTokens.get(token) : undefined
    if (!holder) return sendJson(response, 401, { error: 'invalid_token' })
    const claims = { sub: holder.sub, name: 'Ana Host', email: 'ana@example.org' }
    sendJson(response, 200, provider.behaviour.userinfo?.(claims) ?? claims)
  }

  function isClientAuthenticated(request: IncomingMessage, form: URLSearchParams): boolean {
    const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1]
    if (basic) {
      const [id, secret] = Buffer.from(basic, 'base64')
        .toString()
        .split(':')
        .map(decodeURIComponent)
      return id === clientId && secret === clientSecret
    }
    return form.get('client_id') === clientId && form.get('client_secret') === clientSecret
  }

  server.on('request', handle)
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  port = (server.address() as AddressInfo).port
  provider.port = port
  provider.issuer = `${scheme}://127.0.0.1:${port}${realmPath}`
  return provider
}

async function buildKey(alg: SigningAlg, kid?: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const id = kid ?? `${alg.toLowerCase()}-1`
  return {
    kid: id,
    alg,
    privateKey,
    jwk: { ...(await exportJWK(publicKey)), kid: id, alg, use: 'sig' },
  }
}

/** Returns true when the fault answered (or dropped) the request itself. */
async function applyFault(fault: Fault, response: ServerResponse): Promise<boolean> {
  switch (fault.kind) {
    case 'hang':
      // Never answers; the connection is closed when the provider pauses or closes.
      return true
    case 'delay':
      await new Promise((resolve) => setTimeout(resolve, fault.ms))
      return false
    case 'status':
      response
        .writeHead(fault.status, { 'content-type': fault.contentType ?? 'application/json' })
        .end(fault.body ?? JSON.stringify({ error: 'server_error' }))
      return true
    case 'html':
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<html><body>Service maintenance</body></html>')
      return true
    case 'truncated':
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' })
      response.write('{"access_token":"abc","token_type":"Bea')
      setTimeout(() => response.destroy(), 20)
      return true
    case 'reset':
      response.socket?.destroy()
      return true
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString()
}
