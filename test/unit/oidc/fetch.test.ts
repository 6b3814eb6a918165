import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { after, describe, it } from 'node:test'

import { AppError } from '../../../src/errors.js'
import { buildProviderFetch } from '../../../src/oidc/fetch.js'

/**
 * A raw TCP server that reads HTTP/1.1 requests (head and content-length body) and lets each
 * test decide, per connection and per request, what goes back on the wire.
 */
async function startRawServer(
  onRequest: (socket: Socket, request: { head: string; index: number; connection: number }) => void,
): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    const connection = ++connections
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered = ''
    let index = 0
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1')
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n')
        if (end === -1) return
        const head = buffered.slice(0, end)
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0)
        if (buffered.length < end + 4 + length) return
        buffered = buffered.slice(end + 4 + length)
        onRequest(socket, { head, index: index++, connection })
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      server.close()
      await once(server, 'close')
    },
  }
}

function answer(body: string, extraHeaders = ''): string {
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n${extraHeaders}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

async function expectCode(call: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(call, (error: unknown) => error instanceof AppError && error.code === code)
}

describe('provider fetch', () => {
  const servers: Array<{ close: () => Promise<void> }> = []
  after(async () => {
    for (const server of servers) await server.close()
  })

  it('reads a whole answer and reuses the connection for the next call', async () => {
    const server = await startRawServer((socket) => socket.write(answer('{"ok":true}')))
    servers.push(server)
    const fetch = buildProviderFetch({ timeoutSeconds: 2 })
    for (let i = 0; i < 3; i += 1) {
      const response = await fetch(`${server.url}/token`, { method: 'POST', body: 'a=b' })
      assert.equal(response.status, 200)
      assert.deepEqual(await response.json(), { ok: true })
    }
    assert.equal(server.connections(), 1)
  })

  it('sends a GET again, once, on a new connection, when the pooled one it went out on was reset', async () => {
    // Three pooled connections, then every request on them meets a reset, as when the
    // provider closed its idle connections together: the retry must not take another of them.
    let dropPooled = false
    const server = await startRawServer((socket, { connection }) => {
      if (dropPooled && connection <= 3) socket.resetAndDestroy()
      else setTimeout(() => socket.write(answer('{"ok":true}')), 30)
    })
    servers.push(server)
    const fetch = buildProviderFetch({ timeoutSeconds: 2 })
    const jwks = `${server.url}/jwks`
    await Promise.all([fetch(jwks, {}), fetch(jwks, {}), fetch(jwks, {})])
    assert.equal(server.connections(), 3)
    dropPooled = true
    assert.equal((await fetch(jwks, {})).status, 200)
    assert.equal(server.connections(), 4)
  })

  it('does not send a POST again: a provider that reset the connection may have seen it', async () => {
    const seen: number[] = []
    const server = await startRawServer((socket, { index, connection }) => {
      seen.push(connection)
      if (index === 1) socket.resetAndDestroy()
      else socket.write(answer('{"ok":true}'))
    })
    servers.push(server)
    const fetch = buildProviderFetch({ timeoutSeconds: 2 })
    assert.equal((await fetch(`${server.url}/token`, { method: 'POST', body: 'a=b' })).status, 200)
    await expectCode(
      fetch(`${server.url}/token`, { method: 'POST', body: 'code=c' }),
      'ERR_OIDC_PROVIDER_UNAVAILABLE',
    )
    assert.deepEqual(seen, [1, 1])
  })

  it('calls an answer broken, at once, when Node hands over no response (an unasked 101)', async () => {
    const server = await startRawServer((socket) =>
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      ),
    )
    servers.push(server)
    const fetch = buildProviderFetch({ timeoutSeconds: 5 })
    const started = performance.now()
    await expectCode(
      fetch(`${server.url}/token`, { method: 'POST' }),
      'ERR_OIDC_PROVIDER_BAD_RESPONSE',
    )
    assert.ok(performance.now() - started < 1000)
  })

  it('calls unparsable answers and statuses outside 200-599 broken, not unreachable', async () => {
    const wire = [
      'garbage\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      'HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\n{}',
      `HTTP/1.1 200 OK\r\nContent-Length: ${10 * 1024 ** 3}\r\n\r\n{}`,
    ]
    for (const text of wire) {
      const server = await startRawServer((socket) => socket.write(text))
      servers.push(server)
      const fetch = buildProviderFetch({ timeoutSeconds: 5 })
      await expectCode(fetch(`${server.url}/jwks`, {}), 'ERR_OIDC_PROVIDER_BAD_RESPONSE')
    }
  })

  it('hands back 204, 205 and 304 without a body, even when the provider sent one', async () => {
    for (const status of [204, 205, 304]) {
      const server = await startRawServer((socket) =>
        socket.write(`HTTP/1.1 ${status} X\r\nContent-Length: 2\r\n\r\n{}`),
      )
      servers.push(server)
      const response = await buildProviderFetch({ timeoutSeconds: 2 })(`${server.url}/x`, {})
      assert.equal(response.status, status)
      assert.equal(response.body, null)
    }
  })

  it("ends the call with the caller's abort reason", async () => {
    const server = await startRawServer(() => {})
    servers.push(server)
    const fetch = buildProviderFetch({ timeoutSeconds: 5 })
    const caller = new AbortController()
    setTimeout(() => caller.abort(new Error('caller gave up')), 50)
    await assert.rejects(fetch(`${server.url}/jwks`, { signal: caller.signal }), /caller gave up/)
  })

  it('does not send again when a new connection is reset: the provider is failing', async () => {
    const server = await startRawServer((socket) => socket.resetAndDestroy())
    servers.push(server)
    const fetch = buildProviderFetch({ timeoutSeconds: 2 })
    await expectCode(
      fetch(`${server.url}/token`, { method: 'POST' }),
      'ERR_OIDC_PROVIDER_UNAVAILABLE',
    )
    assert.equal(server.connections(), 1)
  })

  it('gives up after the timeout on a provider that sends the head and never the body', async () => {
    const server = await startRawServer((socket) =>
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":'),
    )
    servers.push(server)
    const fetch = buildProviderFetch({ timeoutSeconds: 1 })
    const started = performance.now()
    await expectCode(fetch(`${server.url}/jwks`, {}), 'ERR_OIDC_PROVIDER_TIMEOUT')
    const elapsed = performance.now() - started
    assert.ok(elapsed >= 950 && elapsed < 2000, `${Math.round(elapsed)} ms`)
  })

  it('refuses an answer over 1 MB', async () => {
    const big = 'x'.repeat(1024 * 1024 + 1)
    const server = await startRawServer((socket) => socket.write(answer(big)))
    servers.push(server)
    const fetch = buildProviderFetch({ timeoutSeconds: 5 })
    await expectCode(fetch(`${server.url}/jwks`, {}), 'ERR_OIDC_PROVIDER_BAD_RESPONSE')
  })

  it('hands back a redirect as it is, without following it', async () => {
    const server = await startRawServer((socket) =>
      socket.write(
        'HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n',
      ),
    )
    servers.push(server)
    const fetch = buildProviderFetch({ timeoutSeconds: 2 })
    const response = await fetch(`${server.url}/.well-known/openid-configuration`, {})
    assert.equal(response.status, 302)
    assert.equal(response.headers.get('location'), 'http://127.0.0.1:1/elsewhere')
  })

  it('leaves no timer behind once calls are done', async () => {
    const server = await startRawServer((socket) => socket.write(answer('{}')))
    const fetch = buildProviderFetch({ timeoutSeconds: 30 })
    const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout')
    const before = timers().length
    await Promise.all(Array.from({ length: 20 }, () => fetch(`${server.url}/userinfo`, {})))
    // Closing the server ends the kept-alive connections and their idle timers; a 30 s call
    // timer left armed would still be listed (and would hold a stopping process open).
    await server.close()
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(timers().length, before)
  })
})
