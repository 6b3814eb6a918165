import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

import { startDevIdp, type DevIdp } from '../../demo/idp.js'
import { allSettings } from '../../src/config/index.js'
import { testAppSecret, testClientSecret } from '../support/harness.js'

/** The compiled CLI, as the package's `bin` points at it. */
export const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))

/** The repository root (tests run from dist/test/ops). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * A working configuration for a spawned adapter. Only PATH is inherited: shells set names such
 * as HOSTNAME that the adapter reads as legacy settings.
 */
export function buildServeEnv(issuer: string, env: Record<string, string> = {}) {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    OIDC_ISSUER_URL: issuer,
    OIDC_ALLOW_HTTP: 'true',
    OIDC_CLIENT_ID: 'jitsi-test',
    OIDC_CLIENT_SECRET: testClientSecret,
    JITSI_BASE_URL: 'https://meet.example.com',
    JWT_APP_ID: 'jitsi_app',
    JWT_APP_SECRET: testAppSecret,
    HOST: '127.0.0.1',
    PORT: '0',
    ...env,
  }
}

/** A provider for spawned adapters that only need discovery to succeed. */
export function startQuietIdp(redirectBase = 'http://127.0.0.1:1'): Promise<DevIdp> {
  return startDevIdp({
    clients: [
      {
        client_id: 'jitsi-test',
        client_secret: testClientSecret,
        redirect_uris: [`${redirectBase}/oidc/redirect`],
      },
    ],
  })
}

export interface SpawnedCli {
  child: ChildProcess
  /** Everything written to stdout so far. */
  stdout(): string
  stderr(): string
  /** Resolves with stdout once it matches, or rejects after `timeoutMs`. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>
}

export function spawnCli(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd?: string,
): SpawnedCli {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd })
  let out = ''
  let err = ''
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()))

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitForStdout: (pattern, timeoutMs = 10_000) =>
      waitFor(
        () => pattern.test(out),
        timeoutMs,
        () => `stdout: ${out}\nstderr: ${err}`,
      ).then(() => out),
    async stop() {
      if (child.exitCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const [code] = (await once(child, 'exit')) as [number | null]
      return code
    },
  }
}

/** Polls `condition` every 25 ms. */
export async function waitFor(
  condition: () => boolean,
  timeoutMs: number,
  describe: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms\n${describe()}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Parses JSON log lines; throws on a line that is not one JSON object. */
export function parseLogLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** A setting's env name, or `<NAME>_FILE` of a secret one: what deploy files may set. */
export function isKnownEnvName(name: string): boolean {
  return allSettings.some(
    (spec) => spec.env === name || (spec.secret === true && `${spec.env}_FILE` === name),
  )
}
