import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import type { DevIdp } from '../../demo/idp.js'
import { pino } from 'pino'

import { buildLoggerOptions, resolveLogFormat } from '../../src/log.js'
import { startRig, type Rig } from '../support/harness.js'
import { runLogin } from '../support/login-driver.js'
import {
  buildServeEnv,
  mainJs,
  parseLogLines,
  spawnCli,
  startQuietIdp,
  waitFor,
} from './support.js'

describe('log lines of one login', () => {
  let rig: Rig
  let lines: Array<Record<string, unknown>>
  let callbackUrl: string

  before(async () => {
    rig = await startRig()
    const login = await runLogin(`${rig.adapter.url}/oidc/auth?roomname=standup`)
    assert.equal(login.callback.status, 302)
    callbackUrl = login.callbackUrl
    lines = parseLogLines(rig.adapter.logs.join(''))
  })
  after(() => rig.close())

  it('writes one auth.success line with request id, issuer, subject, room and duration', () => {
    const success = lines.filter((line) => line['event'] === 'auth.success')
    assert.equal(success.length, 1)
    const line = success[0]!
    assert.match(line['reqId'] as string, /^[0-9a-f-]{36}$/)
    assert.equal(line['level'], 30)
    assert.equal(line['msg'], 'login succeeded')
    assert.equal(line['iss'], rig.idp.issuer)
    assert.equal(line['sub'], 'ana')
    assert.equal(line['room'], 'standup')
    assert.equal(line['client'], 'web')
    assert.equal(line['moderator'], true)
    assert.equal(line['ip'], '127.0.0.1')
    assert.equal(typeof line['durationMs'], 'number')
    assert.ok((line['durationMs'] as number) >= 0)
    assert.equal(line['service'], 'jitsi-oidc-adapter')
  })

  it('ties the start and the outcome of a login to their requests by reqId', () => {
    const start = lines.find((line) => line['event'] === 'auth.start')!
    const success = lines.find((line) => line['event'] === 'auth.success')!
    const requestIds = new Set(lines.filter((line) => line['res']).map((line) => line['reqId']))
    assert.ok(requestIds.has(start['reqId']))
    assert.ok(requestIds.has(success['reqId']))
    assert.notEqual(start['reqId'], success['reqId'])
  })

  it('logs one access line per request, without its query string', () => {
    const access = lines.filter((line) => line['res'])
    assert.deepEqual(
      access.map((line) => line['res']),
      [
        { statusCode: 302, method: 'GET', url: '/oidc/auth' },
        { statusCode: 302, method: 'GET', url: '/oidc/redirect' },
      ],
    )
    const query = new URL(callbackUrl).searchParams
    const text = rig.adapter.logs.join('')
    for (const name of ['code', 'state']) {
      const value = query.get(name)
      assert.ok(value, `the callback carries ${name}`)
      assert.ok(!text.includes(value), `the ${name} value reached the log`)
    }
  })
})

describe('redaction, the second layer behind the serializers', () => {
  function logOnce(fields: Record<string, unknown>): Record<string, unknown> {
    let line = ''
    const logger = pino(buildLoggerOptions({ level: 'info' }), {
      write: (text: string) => (line = text),
    })
    logger.info(fields, 'probe')
    return JSON.parse(line) as Record<string, unknown>
  }

  it('blanks credentials passed by name, and keeps our error code', () => {
    const line = logOnce({
      token: 'eyJ.jitsi.jwt',
      state: 'state-value',
      nonce: 'nonce-value',
      access_token: 'at-value',
      code: 'ERR_OIDC_ACCESS_DENIED',
    })
    for (const key of ['token', 'state', 'nonce', 'access_token']) {
      assert.equal(line[key], '[redacted]', key)
    }
    assert.equal(line['code'], 'ERR_OIDC_ACCESS_DENIED')
  })

  it('copies no header of a request or answer, whatever they hold', () => {
    const line = logOnce({
      req: {
        method: 'GET',
        url: '/oidc/redirect?code=abc&state=def',
        headers: { cookie: 'oidc_tx=x' },
      },
      res: { statusCode: 302, headers: { 'set-cookie': 'oidc_tx=y' } },
    })
    assert.deepEqual(line['req'], { method: 'GET', url: '/oidc/redirect' })
    assert.deepEqual(line['res'], { statusCode: 302 })
  })
})

describe('log format', () => {
  it('is pretty only for auto at a terminal without a log file', () => {
    const cases = [
      { format: 'auto', tty: true, file: undefined, expected: 'pretty' },
      { format: 'auto', tty: false, file: undefined, expected: 'json' },
      { format: 'auto', tty: true, file: '/var/log/a.log', expected: 'json' },
      { format: 'json', tty: true, file: undefined, expected: 'json' },
      { format: 'pretty', tty: false, file: undefined, expected: 'pretty' },
    ] as const
    for (const { format, tty, file, expected } of cases) {
      assert.equal(
        resolveLogFormat({ format, ...(file ? { file } : {}) }, tty),
        expected,
        `${format} tty=${tty} file=${file}`,
      )
    }
  })
})

describe('serve as a process', () => {
  let idp: DevIdp
  let dir: string
  before(async () => {
    idp = await startQuietIdp()
    dir = mkdtempSync(join(tmpdir(), 'adapter-logs-'))
  })
  after(async () => {
    await idp.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('writes JSON lines to a pipe by default', async () => {
    const cli = spawnCli(process.execPath, [mainJs, 'serve'], buildServeEnv(idp.issuer))
    await cli.waitForStdout(/"event":"oidc\.ready"/)
    assert.equal(await cli.stop(), 0)
    const lines = parseLogLines(cli.stdout())
    assert.ok(lines.some((line) => line['event'] === 'config.summary'))
    assert.ok(lines.some((line) => line['event'] === 'shutdown' && line['signal'] === 'SIGTERM'))
  })

  it('writes human-readable lines when a terminal is attached', async () => {
    // `script` gives serve a pseudo-terminal; serve stops at SIGTERM once the provider is
    // ready. Spawned, not spawnSync: the provider runs in this process and must keep answering.
    const command = `${process.execPath} ${mainJs} serve`
    const cli = spawnCli('script', ['-qec', command, '/dev/null'], buildServeEnv(idp.issuer))
    await cli.waitForStdout(/identity provider ready/)
    cli.child.kill('SIGTERM')
    await once(cli.child, 'exit')

    // eslint-disable-next-line no-control-regex
    const text = cli.stdout().replace(/\x1b\[[0-9;]*m/g, '')
    assert.match(text, /^\[[\d:.]+\] INFO: identity provider ready\r?$/m)
    assert.doesNotMatch(text, /^\{"level"/m)
  })

  it('lists an unwritable LOG_FILE with the other configuration problems, without a stack', async () => {
    const blocker = join(dir, 'a-file')
    writeFileSync(blocker, '')
    const cli = spawnCli(
      process.execPath,
      [mainJs, 'serve'],
      buildServeEnv(idp.issuer, {
        LOG_FILE: join(blocker, 'adapter.log'),
        LOG_LEVEL: 'loud',
        HOST: '999.1.1.1',
      }),
    )
    const [code] = (await once(cli.child, 'exit')) as [number | null]
    assert.equal(code, 2)
    const stderr = cli.stderr()
    assert.match(stderr, /3 configuration problem\(s\)/)
    assert.match(stderr, /- LOG_LEVEL: /)
    assert.match(stderr, /- HOST: must be an IP address/)
    assert.match(
      stderr,
      /- LOG_FILE: cannot be written: ".*a-file" is not a directory, or remove it/,
    )
    assert.doesNotMatch(stderr, /^\s+at /m)
  })

  it('refuses a LOG_FILE in a missing directory instead of creating it', async () => {
    const cli = spawnCli(
      process.execPath,
      [mainJs, 'serve'],
      buildServeEnv(idp.issuer, { LOG_FILE: join(dir, 'no-such-dir', 'nested', 'adapter.log') }),
    )
    // A service that created the directory would start and keep running: give it 10 s.
    const timer = setTimeout(() => cli.child.kill(), 10_000)
    const [code] = (await once(cli.child, 'exit')) as [number | null]
    clearTimeout(timer)
    assert.equal(code, 2)
    assert.match(
      cli.stderr(),
      /- LOG_FILE: cannot be written: its directory ".*nested" does not exist: create it/,
    )
    assert.equal(existsSync(join(dir, 'no-such-dir')), false)
  })

  it('names an INI-set log file by its INI key when it cannot be written', async () => {
    const blocker = join(dir, 'another-file')
    writeFileSync(blocker, '')
    const conf = join(dir, 'app.conf')
    writeFileSync(conf, `[logging]\nfilename = ${join(blocker, 'app.log')}\n`)
    const cli = spawnCli(
      process.execPath,
      [mainJs, 'serve', '--config', conf],
      buildServeEnv(idp.issuer),
    )
    const [code] = (await once(cli.child, 'exit')) as [number | null]
    assert.equal(code, 2)
    assert.match(cli.stderr(), /- \[logging\] filename: cannot be written: .* or remove it/)
  })

  it('names HOST/PORT when it cannot listen: a port in use, a host that does not resolve', async () => {
    const busy = createServer().listen(0, '127.0.0.1')
    await once(busy, 'listening')
    const { port } = busy.address() as AddressInfo
    const cases: Array<{ env: Record<string, string>; expected: RegExp }> = [
      {
        env: { PORT: String(port) },
        expected: /HOST\/PORT: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/,
      },
      {
        env: { HOST: 'no-such-host.invalid' },
        expected: /HOST\/PORT: cannot listen on no-such-host\.invalid:0 \((ENOTFOUND|EAI_AGAIN)\)/,
      },
    ]
    try {
      for (const { env, expected } of cases) {
        const cli = spawnCli(process.execPath, [mainJs, 'serve'], buildServeEnv(idp.issuer, env))
        const [code] = (await once(cli.child, 'exit')) as [number | null]
        assert.equal(code, 1)
        assert.match(cli.stderr(), expected)
        assert.doesNotMatch(cli.stderr(), /^\s+at /m)
      }
    } finally {
      busy.close()
    }
  })

  it('reopens LOG_FILE on SIGHUP, so logrotate can move the file away', async () => {
    const logFile = join(dir, 'adapter.log')
    const cli = spawnCli(
      process.execPath,
      [mainJs, 'serve'],
      buildServeEnv(idp.issuer, { LOG_FILE: logFile }),
    )
    const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '')
    await waitFor(() => read(logFile).includes('"event":"oidc.ready"'), 10_000, cli.stderr)
    const url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(read(logFile))![1]!
    assert.equal(cli.stdout(), '')

    renameSync(logFile, `${logFile}.1`)
    cli.child.kill('SIGHUP')
    await waitFor(() => read(logFile).includes('"event":"log.reopened"'), 5_000, cli.stderr)
    // A refused request: successful ones have their access line at debug only.
    const response = await fetch(`${url}/oidc/no-such-page`)
    assert.equal(response.status, 404)
    assert.equal(await cli.stop(), 0)

    const rotated = parseLogLines(read(`${logFile}.1`))
    const fresh = parseLogLines(read(logFile))
    assert.ok(rotated.some((line) => line['event'] === 'oidc.ready'))
    assert.ok(!rotated.some((line) => line['event'] === 'log.reopened'))
    assert.ok(
      fresh.some(
        (line) => (line['res'] as { url?: string } | undefined)?.url === '/oidc/no-such-page',
      ),
    )
    assert.ok(fresh.some((line) => line['event'] === 'shutdown'))
  })
})
