import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'

import { repoRoot } from './support.js'

interface Phase {
  name: string
  logins: number
  errors: number
  latencyMs: Record<string, { count: number; p99: number | null }>
}
interface TargetResult {
  phases: Phase[]
  readyMs: number
  rssMb: { idle: number; afterFirst: number; afterTotal: number }
  logLines: number
  logWarnings: number
  logOther: number
}
interface BenchOutput {
  results: Record<string, TargetResult>
  stubStats: { errors: number; token: number }
  checks: { name: string; measured: string }[]
  ratios: { phase: string }[]
  revisions: { adapter: string | null }
}

/** Only PATH from this process: a BENCH_* variable in the developer's shell must not leak in. */
const benchEnv = (vars: Record<string, string>) => ({
  PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  ...vars,
})

// The benchmark is part of what #6 delivers: this runs `bench/run.mjs` end to end with short
// phases (stub provider, load generator, the built adapter and the floor, all real processes)
// and checks that every login completed with a Jitsi JWT that verified. It asserts no speed:
// tests share the machine, and performance is read from a full run, not from a test.
it('runs the login-storm benchmark end to end with every login verified', async () => {
  const resultsDir = mkdtempSync(join(tmpdir(), 'bench-test-'))
  try {
    const child = spawn(process.execPath, ['bench/run.mjs'], {
      cwd: repoRoot,
      env: benchEnv({
        BENCH_DURATION_S: '1',
        BENCH_CONCURRENCY: '1,8',
        BENCH_LOGINS: '5000',
        BENCH_RESULTS_DIR: resultsDir,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const [code] = (await once(child, 'exit')) as [number | null]
    assert.equal(code, 0, stderr)

    const [file, ...more] = readdirSync(resultsDir)
    assert.ok(file?.endsWith('.json') && more.length === 0, `one JSON result, got ${file}`)
    const output = JSON.parse(readFileSync(join(resultsDir, file), 'utf8')) as BenchOutput

    const phaseNames = ['warm-up', 'warm-up 2', 'closed c=1', 'closed c=8']
    for (const name of ['adapter', 'floor']) {
      const target = output.results[name]!
      assert.deepEqual(
        target.phases.slice(0, 4).map((phase) => phase.name),
        phaseNames,
        `${name}'s phases`,
      )
      const open = target.phases.find((phase) => phase.name.startsWith('open'))
      assert.ok(open, `${name} ran an open-loop phase`)
      for (const phase of target.phases) {
        assert.equal(phase.errors, 0, `${name} ${phase.name}: errors`)
        assert.ok(phase.logins > 0, `${name} ${phase.name}: logins`)
        // Every hop of every login was timed, the redirect hop net of the stub's time too.
        for (const hop of ['login', 'auth', 'authorize', 'redirect', 'redirectOwn']) {
          assert.equal(phase.latencyMs[hop]?.count, phase.logins, `${name} ${phase.name} ${hop}`)
        }
      }
      assert.equal(open.latencyMs['startLag']?.count, open.logins, `${name}: start lag per login`)
      assert.ok(target.readyMs > 0 && target.rssMb.idle > 0, `${name}: ready time and idle RSS`)
    }

    const adapter = output.results['adapter']!
    const logins = adapter.phases.reduce((sum, phase) => sum + phase.logins, 0)
    assert.ok(
      adapter.phases.some((phase) => phase.name === 'soak'),
      'the soak tops up to 5,000',
    )
    assert.ok(logins >= 5000, `adapter logins ${logins}`)
    // At the production level a login is one auth.* line; the one warning is the start-up
    // notice that the stub provider is plain http.
    assert.ok(adapter.logLines >= logins, `${adapter.logLines} log lines for ${logins} logins`)
    assert.equal(adapter.logWarnings, 1)
    assert.equal(adapter.logOther, 0, 'every log line is JSON')
    assert.equal(output.stubStats.errors, 0)
    // One token call per login, no more: no login was retried or left half done.
    const allLogins = Object.values(output.results)
      .flatMap((target) => target.phases)
      .reduce((sum, phase) => sum + phase.logins, 0)
    assert.equal(output.stubStats.token, allLogins)
    assert.ok(adapter.rssMb.afterFirst > 0 && adapter.rssMb.afterTotal > 0, 'RSS readings')

    assert.deepEqual(
      output.checks.map((check) => check.name.replace(/\d+/g, 'N')),
      [
        'throughput vs floor',
        'logins/s on one core',
        "adapter's own pN per hop at N% load",
        'idle RSS',
        'RSS after N vs after N logins',
        'ready after start',
      ],
    )
    assert.ok(output.ratios.some((ratio) => ratio.phase === 'best closed loop'))
    assert.match(output.revisions.adapter ?? '', /^[0-9a-f]{7,}/, 'the JSON names the commit')
    for (const heading of ['### adapter', '### floor', '### Adapter ÷ floor', '### Targets']) {
      assert.ok(stdout.includes(heading), `report has ${heading}`)
    }
  } finally {
    rmSync(resultsDir, { recursive: true, force: true })
  }
})

it('refuses bad benchmark settings all at once, naming each, before starting anything', () => {
  const run = spawnSync(process.execPath, ['bench/run.mjs'], {
    cwd: repoRoot,
    env: benchEnv({
      BENCH_CONCURRENCY: '1,abc',
      BENCH_ALG: 'HS256',
      BENCH_TARGETS: 'adaptor,floor',
      BENCH_DURATION_S: '0',
      BENCH_OPEN_RATE: 'fast',
      BENCH_TARGET_ENV: 'UV_THREADPOOL_SIZE',
    }),
    encoding: 'utf8',
    timeout: 10_000,
  })
  assert.equal(run.status, 2, run.stderr)
  const lines = run.stderr.trim().split('\n')
  for (const name of [
    'BENCH_CONCURRENCY=1,abc',
    'BENCH_ALG=HS256',
    'BENCH_TARGETS=adaptor,floor',
    'BENCH_DURATION_S=0',
    'BENCH_OPEN_RATE=fast',
    'BENCH_TARGET_ENV',
  ]) {
    assert.ok(
      lines.some((line) => line.startsWith(`bench: ${name}`)),
      `${name} is named:\n${run.stderr}`,
    )
  }
  assert.equal(lines.at(-1), 'bench: 6 setting(s) to fix; see BENCHMARKS.md, "Run it"')
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
})
