#!/usr/bin/env node
// Load generator for the login-storm benchmark, run as a child of bench/run.mjs and driven
// over IPC. One login = GET /oidc/auth (keep the cookie) → GET the provider's authorize URL
// → GET the callback with the cookie → verify the Jitsi JWT in the final Location. Only
// loopback targets are ever requested; every loop is bounded by a count and a deadline.
import { webcrypto } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { jwtVerify } from 'jose'
import {
  buildOwnRedirectSamples,
  buildRecorder,
  recordError,
  summarizeLatency,
} from './lib/stats.mjs'

const requestTimeoutMs = 10_000
const openLoopMaxInFlight = 4096
const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]'])

let target

function assertLoopback(url) {
  if (!loopbackHosts.has(url.hostname)) throw new Error(`refusing non-loopback URL ${url.host}`)
}

function sendGet(agent, url, headers) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      res.on('data', () => {})
      res.on('end', () => resolve(res))
      res.on('error', reject)
    })
    req.setTimeout(requestTimeoutMs, () => req.destroy(new Error('request timeout')))
    req.on('error', reject)
    req.end()
  })
}

function buildAgents(maxSockets) {
  return {
    adapter: new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets }),
    stub: new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets }),
  }
}

function destroyAgents(agents) {
  agents.adapter.destroy()
  agents.stub.destroy()
}

function parseJitsiJwt(location) {
  const prefix = `${target.jitsiBaseUrl}/${target.room}#`
  if (!location?.startsWith(prefix)) throw new Error(`final location is not the room URL`)

  const fragment = new URLSearchParams(location.slice(prefix.length))
  const quoted = fragment.get('jwt') ?? ''
  if (!quoted.startsWith('"') || !quoted.endsWith('"')) throw new Error('jwt= is not quoted')
  return quoted.slice(1, -1)
}

async function verifyJitsiJwt(location) {
  const { payload } = await jwtVerify(parseJitsiJwt(location), target.appSecret, {
    algorithms: ['HS256'],
    issuer: target.appId,
    audience: 'jitsi',
    typ: 'JWT',
  })
  if (payload.room !== target.room) throw new Error(`jwt room is ${payload.room}`)
}

/**
 * Runs one complete login; `startedAt` is the scheduled start in open loop. The whole login
 * counts from there, so the generator's own lateness stays in it; each hop counts from when
 * the generator sent it, so that lateness (reported as start lag) is not charged to a hop.
 */
async function runLogin(agents, recorder, startedAt = performance.now()) {
  const authSentAt = performance.now()
  const authUrl = `${target.adapterUrl}/oidc/auth?roomname=${target.room}`
  const auth = await sendGet(agents.adapter, authUrl, {})
  if (auth.statusCode !== 302) throw new Error(`/oidc/auth answered ${auth.statusCode}`)
  const cookie = (auth.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]).join('; ')
  if (!cookie.includes('oidc_tx')) throw new Error('/oidc/auth set no oidc_tx cookie')
  const authDoneAt = performance.now()

  const authorizeUrl = new URL(auth.headers.location)
  assertLoopback(authorizeUrl)
  const authorize = await sendGet(agents.stub, authorizeUrl, {})
  if (authorize.statusCode !== 302) throw new Error(`authorize answered ${authorize.statusCode}`)
  const authorizeDoneAt = performance.now()

  const callbackUrl = new URL(authorize.headers.location)
  assertLoopback(callbackUrl)
  const callback = await sendGet(agents.adapter, callbackUrl, { cookie })
  if (callback.statusCode !== 302) throw new Error(`/oidc/redirect answered ${callback.statusCode}`)
  const callbackDoneAt = performance.now()

  await verifyJitsiJwt(callback.headers.location)

  recorder.login.push(callbackDoneAt - startedAt)
  recorder.auth.push(authDoneAt - authSentAt)
  recorder.authorize.push(authorizeDoneAt - authDoneAt)
  recorder.redirect.push(callbackDoneAt - authorizeDoneAt)
  recorder.codes.push(callbackUrl.searchParams.get('code'))
}

function runLoginSafely(agents, recorder, startedAt) {
  return runLogin(agents, recorder, startedAt).catch((error) => recordError(recorder, error))
}

async function fetchTokenTimes(discard) {
  const agent = new Agent({ keepAlive: false })
  const url = `${target.stubUrl}/_bench/token-times${discard ? '?discard=1' : ''}`
  const chunks = []
  await new Promise((resolve, reject) => {
    request(url, { agent }, (res) => {
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', resolve)
      res.on('error', reject)
    })
      .on('error', reject)
      .end()
  })
  return new Map(JSON.parse(Buffer.concat(chunks).toString('utf8')))
}

/**
 * Closed loop: `concurrency` workers log in back to back until the deadline or the count.
 * A timed run's rate counts the logins done by the deadline, not those draining after it.
 */
function readRssMb(pid) {
  const kib = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Math.round((Number(kib) / 1024) * 10) / 10
}

async function runClosedLoop(
  { concurrency, durationMs, maxLogins = Infinity, rssPid, rssEvery },
  notify,
) {
  const agents = buildAgents(concurrency)
  const recorder = buildRecorder()
  const startedAt = performance.now()
  const deadline = startedAt + durationMs
  let issued = 0
  let doneByDeadline

  const timer =
    maxLogins === Infinity &&
    setTimeout(() => {
      doneByDeadline = recorder.login.length
      notify('deadline')
    }, durationMs)
  const worker = async () => {
    while (issued < maxLogins && performance.now() < deadline) {
      issued += 1
      await runLoginSafely(agents, recorder)
      const logins = recorder.login.length
      if (rssPid && logins % rssEvery === 0 && recorder.rssCurve.at(-1)?.logins !== logins) {
        recorder.rssCurve.push({ logins, rssMb: readRssMb(rssPid) })
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  clearTimeout(timer)
  destroyAgents(agents)

  const elapsedMs = performance.now() - startedAt
  const rate =
    doneByDeadline === undefined ? recorder.login.length / elapsedMs : doneByDeadline / durationMs
  return { recorder, elapsedMs, loginsPerSecond: rate * 1000 }
}

/**
 * Open loop: logins start on a fixed schedule whether or not earlier ones finished, and
 * latency counts from the scheduled start, so a stalled server cannot hide its queue
 * (no coordinated omission). Starts beyond `openLoopMaxInFlight` count as errors.
 */
async function runOpenLoop({ ratePerSecond, durationMs }, notify) {
  const agents = buildAgents(openLoopMaxInFlight)
  const recorder = buildRecorder()
  const intervalMs = 1000 / ratePerSecond
  const total = Math.max(1, Math.floor((durationMs / 1000) * ratePerSecond))
  const startedAt = performance.now() + 5
  const pending = new Set()
  let next = 0

  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now()
      while (next < total && startedAt + next * intervalMs <= now) {
        const scheduledAt = startedAt + next * intervalMs
        next += 1
        if (pending.size >= openLoopMaxInFlight) {
          recordError(recorder, new Error('open loop: too many logins in flight'))
          continue
        }
        recorder.startLag.push(now - scheduledAt)
        const login = runLoginSafely(agents, recorder, scheduledAt)
        pending.add(login)
        login.finally(() => pending.delete(login))
      }
      if (next < total) setTimeout(tick, Math.max(0, startedAt + next * intervalMs - now))
      else {
        notify('deadline')
        resolve()
      }
    }
    tick()
  })
  await Promise.all(pending)
  destroyAgents(agents)
  const elapsedMs = performance.now() - startedAt
  return { recorder, elapsedMs, loginsPerSecond: (recorder.login.length / elapsedMs) * 1000 }
}

async function setTarget(given) {
  assertLoopback(new URL(given.adapterUrl))
  assertLoopback(new URL(given.stubUrl))
  // Imported once: jose given raw bytes imports a key on every verification.
  const appSecret = await webcrypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(given.appSecret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  )
  target = { ...given, appSecret }
}

async function runPhase(message) {
  await fetchTokenTimes(true)
  const notify = (event) => process.send({ id: message.id, event })
  notify('start')
  const cpuBefore = process.cpuUsage()
  const run = message.mode === 'open' ? runOpenLoop : runClosedLoop
  const { recorder, elapsedMs, loginsPerSecond } = await run(message, notify)
  const cpu = process.cpuUsage(cpuBefore)
  const tokenTimes = await fetchTokenTimes(false)
  const logins = recorder.login.length

  return {
    logins,
    errors: recorder.errors,
    errorKinds: recorder.errorKinds,
    rssCurve: recorder.rssCurve,
    elapsedMs: Math.round(elapsedMs),
    loginsPerSecond: Math.round(loginsPerSecond * 10) / 10,
    generatorCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    latencyMs: {
      login: summarizeLatency(recorder.login),
      auth: summarizeLatency(recorder.auth),
      authorize: summarizeLatency(recorder.authorize),
      redirect: summarizeLatency(recorder.redirect),
      redirectOwn: summarizeLatency(buildOwnRedirectSamples(recorder, tokenTimes)),
      startLag: summarizeLatency(recorder.startLag),
    },
  }
}

process.on('message', (message) => {
  if (message.cmd === 'target') {
    setTarget(message.target).then(() => process.send({ id: message.id, result: 'ok' }))
    return
  }
  runPhase(message).then(
    (result) => process.send({ id: message.id, result }),
    (error) => process.send({ id: message.id, error: String(error?.stack ?? error) }),
  )
})
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
