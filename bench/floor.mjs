#!/usr/bin/env node
// The floor: a bare node:http program that answers the adapter's two login hops doing only
// the work no implementation can skip. /oidc/auth seals { state, nonce, PKCE verifier, room }
// into a JWE cookie (dir, A256GCM) and redirects to the provider; /oidc/redirect opens the
// cookie, makes one keep-alive token call, checks the ID token signature against a local
// JWKS and signs one HS256 Jitsi JWT. No framework, no validation beyond that, no logging:
// the benchmark compares the adapter against this to show what its own layers cost.
//
// Reads the same environment as the adapter (OIDC_ISSUER_URL, OIDC_CLIENT_ID,
// OIDC_CLIENT_SECRET, JITSI_BASE_URL, JWT_APP_ID, JWT_APP_SECRET, HOST, PORT,
// ADAPTER_PUBLIC_URL).
import { createHash, randomBytes, webcrypto } from 'node:crypto'
import { Agent, createServer, request } from 'node:http'
import { CompactEncrypt, SignJWT, compactDecrypt, createLocalJWKSet, jwtVerify } from 'jose'

const env = process.env
const issuer = env.OIDC_ISSUER_URL
const clientId = env.OIDC_CLIENT_ID
const publicUrl = env.ADAPTER_PUBLIC_URL ?? `http://${env.HOST}:${env.PORT}`
const redirectUri = `${publicUrl}/oidc/redirect`
const jitsiBaseUrl = env.JITSI_BASE_URL.replace(/\/$/, '')
// Keys are imported once: jose given raw bytes imports a CryptoKey on every call, which
// costs more than the signature itself.
const appSecret = await webcrypto.subtle.importKey(
  'raw',
  new TextEncoder().encode(env.JWT_APP_SECRET),
  { name: 'HMAC', hash: 'SHA-256' },
  false,
  ['sign'],
)
const cookieKey = await webcrypto.subtle.importKey(
  'raw',
  createHash('sha256').update(`floor-cookie:${env.JWT_APP_SECRET}`).digest(),
  'AES-GCM',
  false,
  ['encrypt', 'decrypt'],
)
const basicAuth = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(env.OIDC_CLIENT_SECRET)}`).toString('base64')}`
const idpAgent = new Agent({ keepAlive: true, maxSockets: 512 })

let metadata
let jwks
let tokenUrl

function fetchJson(url, method = 'GET', body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: idpAgent, headers }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        if (res.statusCode !== 200) reject(new Error(`${url} answered ${res.statusCode}`))
        else resolve(JSON.parse(text))
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function handleAuth(url, res) {
  const room = url.searchParams.get('roomname') ?? ''
  const state = randomBytes(16).toString('base64url')
  const nonce = randomBytes(16).toString('base64url')
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')

  const payload = new TextEncoder().encode(JSON.stringify({ state, nonce, verifier, room }))
  const sealed = await new CompactEncrypt(payload)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .encrypt(cookieKey)

  const target = new URL(metadata.authorization_endpoint)
  target.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid profile email',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString()
  res.writeHead(302, {
    location: target.href,
    'set-cookie': `oidc_tx=${sealed}; Path=/oidc/; HttpOnly; SameSite=Lax; Max-Age=600`,
    'content-length': 0,
  })
  res.end()
}

async function handleRedirect(url, req, res) {
  const cookie = /(?:^|;\s*)oidc_tx=([^;]+)/.exec(req.headers.cookie ?? '')
  if (!cookie) return sendStatus(res, 400)
  const { plaintext } = await compactDecrypt(cookie[1], cookieKey)
  const tx = JSON.parse(new TextDecoder().decode(plaintext))
  if (url.searchParams.get('state') !== tx.state) return sendStatus(res, 400)

  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: url.searchParams.get('code') ?? '',
    redirect_uri: redirectUri,
    code_verifier: tx.verifier,
  }).toString()
  const tokens = await fetchJson(tokenUrl, 'POST', body, {
    authorization: basicAuth,
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': Buffer.byteLength(body),
  })

  const { payload: claims } = await jwtVerify(tokens.id_token, jwks, {
    issuer: metadata.issuer,
    audience: clientId,
  })
  if (claims.nonce !== tx.nonce) return sendStatus(res, 400)

  const jwt = await new SignJWT({
    room: tx.room,
    context: { user: { id: claims.sub, name: claims.name, email: claims.email } },
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(env.JWT_APP_ID)
    .setAudience('jitsi')
    .setSubject(new URL(jitsiBaseUrl).hostname)
    .setIssuedAt()
    .setExpirationTime('3h')
    .sign(appSecret)

  const location = `${jitsiBaseUrl}/${tx.room}#jwt=%22${jwt}%22&config.prejoinConfig.enabled=false`
  res.writeHead(302, { location, 'content-length': 0 })
  res.end()
}

function sendStatus(res, status) {
  res.writeHead(status, { 'content-length': 0 })
  res.end()
}

async function route(req, res) {
  const url = new URL(req.url, publicUrl)
  switch (url.pathname) {
    case '/oidc/auth':
      return handleAuth(url, res)
    case '/oidc/redirect':
      return handleRedirect(url, req, res)
    case '/oidc/health':
      return sendStatus(res, 200)
    case '/oidc/ready':
      return sendStatus(res, metadata ? 200 : 503)
    default:
      return sendStatus(res, 404)
  }
}

const server = createServer((req, res) => {
  route(req, res).catch(() => sendStatus(res, 500))
})
server.keepAliveTimeout = 65_000
server.listen(Number(env.PORT), env.HOST ?? '127.0.0.1')

const discovered = await fetchJson(`${issuer}/.well-known/openid-configuration`)
jwks = createLocalJWKSet(await fetchJson(discovered.jwks_uri))
tokenUrl = discovered.token_endpoint
metadata = discovered

process.on('SIGTERM', () => process.exit(0))
