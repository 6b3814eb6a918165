#!/usr/bin/env node
// A fast stub OpenID provider for the login-storm benchmark: discovery, authorize (no login
// page: it answers at once with a code), token, JWKS and userinfo on bare node:http. It keeps
// only what the token call must check (nonce, PKCE challenge, redirect_uri) per code, in a
// bounded map. It is not a real provider: use it only on loopback, for load.
//
// Environment: STUB_PORT (0 = any), STUB_ALG (ES256 | RS256), STUB_CLIENT_ID,
// STUB_CLIENT_SECRET. Reports { port } over IPC (or stdout) once listening.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'

const alg = process.env.STUB_ALG ?? 'ES256'
const clientId = process.env.STUB_CLIENT_ID ?? 'bench'
const clientSecret = process.env.STUB_CLIENT_SECRET ?? 'bench-client-secret'
const maxPendingCodes = 100_000
const maxRecordedTokenTimes = 1_000_000
const codeTtlMs = 60_000

if (alg !== 'ES256' && alg !== 'RS256') throw new Error(`"STUB_ALG" must be ES256 or RS256`)

const { privateKey, publicKey } = await generateKeyPair(alg, { modulusLength: 2048 })
const kid = `bench-${alg.toLowerCase()}`
const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }] })

/** code → { nonce, codeChallenge, redirectUri, createdAt }; oldest entries dropped past the bound. */
const pendingCodes = new Map()
/** Token-endpoint handling time in microseconds, keyed by code, read and cleared by the bench. */
const tokenTimes = new Map()
const counters = { authorize: 0, token: 0, userinfo: 0, errors: 0, droppedCodes: 0 }
const errorSamples = []
let issuer = ''
let discovery = ''

function sendJson(res, status, body, extraHeaders = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...extraHeaders,
  })
  res.end(text)
}

function sendError(res, status, error, description) {
  counters.errors += 1
  if (errorSamples.length < 20) errorSamples.push(`${error}: ${description}`)
  sendJson(res, status, { error, error_description: description })
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function rememberCode(code, entry) {
  if (pendingCodes.size >= maxPendingCodes) {
    pendingCodes.delete(pendingCodes.keys().next().value)
    counters.droppedCodes += 1
  }
  pendingCodes.set(code, entry)
}

function handleAuthorize(req, res, url) {
  counters.authorize += 1
  const query = url.searchParams
  const redirectUri = query.get('redirect_uri')

  if (query.get('client_id') !== clientId) return sendError(res, 400, 'invalid_client', 'client_id')
  if (!redirectUri) return sendError(res, 400, 'invalid_request', 'redirect_uri missing')
  if (query.get('response_type') !== 'code')
    return sendError(res, 400, 'unsupported_response_type', 'response_type')
  if (query.get('code_challenge_method') !== 'S256' || !query.get('code_challenge'))
    return sendError(res, 400, 'invalid_request', 'PKCE S256 challenge missing')

  const code = randomBytes(16).toString('base64url')
  rememberCode(code, {
    nonce: query.get('nonce'),
    codeChallenge: query.get('code_challenge'),
    redirectUri,
    createdAt: Date.now(),
  })

  const location = new URL(redirectUri)
  location.searchParams.set('code', code)
  if (query.has('state')) location.searchParams.set('state', query.get('state'))
  res.writeHead(302, { location: location.href, 'content-length': 0 })
  res.end()
}

function decodeFormComponent(value) {
  return decodeURIComponent(value.replace(/\+/g, ' '))
}

/** Returns the authenticated client_id, from client_secret_basic or client_secret_post. */
function authenticateClient(req, form) {
  const header = req.headers.authorization
  let id = form.get('client_id')
  let secret = form.get('client_secret')

  if (header?.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    id = decodeFormComponent(decoded.slice(0, colon))
    secret = decodeFormComponent(decoded.slice(colon + 1))
  }

  const given = Buffer.from(secret ?? '')
  const expected = Buffer.from(clientSecret)
  const secretMatches = given.length === expected.length && timingSafeEqual(given, expected)
  return id === clientId && secretMatches ? id : undefined
}

async function handleToken(req, res, startedAt) {
  counters.token += 1
  const form = new URLSearchParams(await readBody(req))
  const code = form.get('code') ?? ''
  const entry = pendingCodes.get(code)
  pendingCodes.delete(code)

  if (!authenticateClient(req, form)) return sendError(res, 401, 'invalid_client', 'client auth')
  if (form.get('grant_type') !== 'authorization_code')
    return sendError(res, 400, 'unsupported_grant_type', 'grant_type')
  if (!entry || Date.now() - entry.createdAt > codeTtlMs)
    return sendError(res, 400, 'invalid_grant', 'unknown or expired code')
  if (form.get('redirect_uri') !== entry.redirectUri)
    return sendError(res, 400, 'invalid_grant', 'redirect_uri mismatch')
  const verifier = form.get('code_verifier') ?? ''
  if (createHash('sha256').update(verifier).digest('base64url') !== entry.codeChallenge)
    return sendError(res, 400, 'invalid_grant', 'PKCE verifier mismatch')

  const user = `user-${counters.token % 1000}`
  const claims = { name: `Bench ${user}`, email: `${user}@example.com`, email_verified: true }
  if (entry.nonce) claims.nonce = entry.nonce
  const idToken = await new SignJWT(claims)
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setSubject(user)
    .setAudience(clientId)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey)

  const body = {
    access_token: `at.${user}.${randomBytes(8).toString('base64url')}`,
    token_type: 'Bearer',
    expires_in: 300,
    scope: 'openid profile email',
    id_token: idToken,
  }
  const handlingMicros = Math.round((performance.now() - startedAt) * 1000)
  if (tokenTimes.size < maxRecordedTokenTimes) tokenTimes.set(code, handlingMicros)
  sendJson(res, 200, body, { 'x-stub-handling-us': String(handlingMicros) })
}

function handleUserinfo(req, res) {
  counters.userinfo += 1
  const header = req.headers.authorization ?? ''
  const match = /^Bearer at\.(user-\d+)\./.exec(header)
  if (!match) return sendError(res, 401, 'invalid_token', 'bearer token')

  const user = match[1]
  sendJson(res, 200, { sub: user, name: `Bench ${user}`, email: `${user}@example.com` })
}

function handleBenchStats(res, url) {
  if (url.pathname === '/_bench/token-times') {
    const entries = url.searchParams.has('discard') ? [] : [...tokenTimes]
    tokenTimes.clear()
    return sendJson(res, 200, entries)
  }
  sendJson(res, 200, { ...counters, pendingCodes: pendingCodes.size, errorSamples })
}

async function route(req, res) {
  const startedAt = performance.now()
  const url = new URL(req.url, issuer)

  switch (url.pathname) {
    case '/.well-known/openid-configuration':
      return sendJson(res, 200, discovery, { 'cache-control': 'max-age=300' })
    case '/authorize':
      return handleAuthorize(req, res, url)
    case '/token':
      return req.method === 'POST'
        ? handleToken(req, res, startedAt)
        : sendError(res, 405, 'invalid_request', 'token needs POST')
    case '/jwks':
      return sendJson(res, 200, jwks, { 'cache-control': 'max-age=300' })
    case '/userinfo':
      return handleUserinfo(req, res)
    case '/_bench/stats':
    case '/_bench/token-times':
      return handleBenchStats(res, url)
    default:
      return sendError(res, 404, 'not_found', url.pathname)
  }
}

const server = createServer((req, res) => {
  route(req, res).catch((error) => sendError(res, 500, 'server_error', String(error)))
})
server.keepAliveTimeout = 65_000

server.listen(Number(process.env.STUB_PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address()
  issuer = `http://127.0.0.1:${port}`
  discovery = JSON.stringify({
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    userinfo_endpoint: `${issuer}/userinfo`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [alg],
    scopes_supported: ['openid', 'profile', 'email'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'name', 'email'],
  })

  if (process.send) process.send({ port })
  else console.log(JSON.stringify({ port, issuer, alg }))
})

process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
