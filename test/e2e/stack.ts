import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { startDevIdp, type DevIdp } from '../../demo/idp.js'
import { startMeetingPage, type MeetingPage } from '../../demo/meeting.js'
import {
  findFreePort,
  startAdapter,
  testClientSecret,
  type TestAdapter,
} from '../support/harness.js'

export const chromiumPath = '/usr/bin/chromium'
const nginxCandidates = ['/usr/sbin/nginx', '/usr/bin/nginx']

/** Why the browser tests cannot run here, or undefined when both binaries are present. */
export function findMissingTools(): string | undefined {
  const missing = [
    existsSync(chromiumPath) ? '' : `chromium (${chromiumPath})`,
    findNginx() ? '' : 'nginx',
  ].filter(Boolean)
  if (missing.length === 0) return undefined
  const reason = `needs ${missing.join(' and ')}: apt-get install -y chromium nginx`
  // CI installs them (scripts/ensure-test-tools.sh) and sets REQUIRE_TEST_TOOLS: there a
  // missing tool is a failure, never a quiet skip.
  if (process.env['REQUIRE_TEST_TOOLS']) throw new Error(reason)
  return reason
}

/** Debian's nginx binary, when installed. */
export function findNginx(): string | undefined {
  return nginxCandidates.find((path) => existsSync(path))
}

const repo = new URL('../../../', import.meta.url).pathname
const shippedHttp = join(repo, 'jitsi/nginx/jitsi-oidc-http.conf')
const shippedLocation = join(repo, 'jitsi/nginx/jitsi-oidc-location.conf')
const shippedBody = join(repo, 'jitsi/body.html')

export interface Stack {
  /** The one public origin: nginx in front of the adapter and the meeting page. */
  origin: string
  idp: DevIdp
  adapter: TestAdapter
  meeting: MeetingPage
  accessLogPath: string
  errorLogPath: string
  close(): Promise<void>
}

/**
 * A deployment in miniature: Debian's nginx on a loopback port runs the shipped `/oidc/`
 * location unchanged, with a Jitsi-like site around it (server-side includes, the tenant
 * rewrite rule, `/body.html`), in front of the adapter and the stand-in meeting page.
 */
export async function startStack(): Promise<Stack> {
  const [nginxPort, adapterPort] = [await findFreePort(), await findFreePort()]
  const origin = `http://127.0.0.1:${nginxPort}`

  const idp = await startDevIdp({
    clients: [
      {
        client_id: 'jitsi-test',
        client_secret: testClientSecret,
        redirect_uris: [`${origin}/oidc/redirect`],
        post_logout_redirect_uris: [`${origin}/`],
      },
    ],
  })
  const meeting = await startMeetingPage({
    tokenAuthUrl: `${origin}/oidc/auth?state={state}`,
    tokenLogoutUrl: `${origin}/oidc/logout`,
  })
  const adapter = await startAdapter({
    OIDC_ISSUER_URL: idp.issuer,
    JITSI_BASE_URL: origin,
    ADAPTER_PUBLIC_URL: origin,
    PORT: String(adapterPort),
    LOG_LEVEL: 'info',
  })

  const dir = await mkdtemp(join(tmpdir(), 'jitsi-oidc-nginx-'))
  await mkdir(join(dir, 'html'))
  // As Debian's /var/log/nginx: workers may enter but not write, so only nginx's master
  // (root, when the tests run as root) can open the logs.
  await chmod(dir, 0o755)
  const accessLogPath = join(dir, 'jitsi-oidc-access.log')
  const errorLogPath = join(dir, 'error.log')
  await writeFile(join(dir, 'jitsi-oidc-http.conf'), await buildHttpPart(adapterPort))
  await writeFile(join(dir, 'jitsi-oidc-location.conf'), await buildLocation(accessLogPath))
  const meetingUpstream = meeting.url.replace('http://', '')
  await writeFile(
    join(dir, 'nginx.conf'),
    `${process.getuid?.() === 0 ? 'user nobody nogroup;\n' : ''}worker_processes 1;
events { worker_connections 256; }
http {
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    access_log ${dir}/access.log;
    include ${dir}/jitsi-oidc-http.conf;

    server {
        listen 127.0.0.1:${nginxPort};
        server_name localhost;
        root ${dir}/html;
        ssi on;

        include ${dir}/jitsi-oidc-location.conf;

        location = /body.html {
            alias ${shippedBody};
        }
        # Jitsi's tenant rule, which the shipped /oidc/ location must win over.
        location ~ ^/([^/?&:'"]+)/(.*)$ {
            proxy_pass http://${meetingUpstream};
        }
        location / {
            proxy_pass http://${meetingUpstream};
        }
    }
}
`,
  )

  const nginx = spawn(
    findNginx()!,
    [
      '-e',
      errorLogPath,
      '-c',
      join(dir, 'nginx.conf'),
      '-p',
      dir,
      '-g',
      `daemon off; pid ${dir}/nginx.pid;`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  nginx.stderr!.on('data', (chunk: Buffer) => (stderr += chunk))
  await waitForNginx(origin, nginx, () => stderr, dir)

  return {
    origin,
    idp,
    adapter,
    meeting,
    accessLogPath,
    errorLogPath,
    async close() {
      await stopNginx(nginx)
      await adapter.close()
      await Promise.all([meeting.close(), idp.close()])
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** The shipped http-level file with the value an admin may change: the adapter port. */
async function buildHttpPart(adapterPort: number): Promise<string> {
  return fillShipped(shippedHttp, 'server 127.0.0.1:8000;', `server 127.0.0.1:${adapterPort};`)
}

/** The shipped location with its access log moved to the test's directory, nothing else. */
async function buildLocation(accessLogPath: string): Promise<string> {
  const shippedPath = '/var/log/nginx/jitsi-oidc-access.log'
  return fillShipped(shippedLocation, shippedPath, accessLogPath)
}

/** A shipped file with exactly one line changed, or an error if the file changed shape. */
async function fillShipped(path: string, from: string, to: string): Promise<string> {
  const shipped = await readFile(path, 'utf8')
  const filled = shipped.replace(from, to)
  if (filled.split('\n').filter((line, i) => line !== shipped.split('\n')[i]).length !== 1) {
    throw new Error(`${path} changed shape: update the e2e stack`)
  }
  return filled
}

async function waitForNginx(
  origin: string,
  nginx: ChildProcess,
  stderr: () => string,
  dir: string,
) {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (nginx.exitCode !== null) {
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')
      throw new Error(`nginx exited ${nginx.exitCode}: ${stderr()}${log}`)
    }
    try {
      const response = await fetch(`${origin}/oidc/health`)
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`nginx did not answer on ${origin}`)
}

async function stopNginx(nginx: ChildProcess): Promise<void> {
  if (nginx.exitCode !== null) return
  const exited = new Promise((resolve) => nginx.once('exit', resolve))
  nginx.kill('SIGTERM')
  await exited
}
