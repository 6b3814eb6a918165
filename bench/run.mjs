#!/usr/bin/env node
// The login-storm benchmark (npm run bench). Starts the stub provider and the load generator
// on CPU 1, the adapter and the floor on CPU 0 (one loaded at a time); drives both, phase by
// phase in turn, through warm-up, closed loop at each concurrency, open loop at half the best
// closed-loop rate and (adapter only) a soak up to BENCH_LOGINS logins. Prints Markdown and
// writes JSON under bench/results/. Everything it starts is stopped, and a watchdog ends the
// run if it hangs. See BENCHMARKS.md.
//
// Knobs: --quick, and the BENCH_* variables read and checked in lib/settings.mjs; BENCHMARKS.md
// documents each.
import { spawnSync } from 'node:child_process'
import { closeSync, createReadStream, existsSync, mkdirSync, openSync } from 'node:fs'
import { rmSync, writeFileSync } from 'node:fs'
import { cpus, release, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import * as proc from './lib/proc.mjs'
import { runPhase } from './lib/phase.mjs'
import * as report from './lib/report.mjs'
import { readSettings, toEnv } from './lib/settings.mjs'

const benchDir = dirname(fileURLToPath(import.meta.url))
const rootDir = dirname(benchDir)
const { settings, problems } = readSettings(process.env, process.argv, benchDir)
if (problems.length > 0) {
  for (const problem of problems) console.error(`bench: ${problem}`)
  console.error(`bench: ${problems.length} setting(s) to fix; see BENCHMARKS.md, "Run it"`)
  process.exit(2)
}
const secrets = {
  clientId: 'bench',
  clientSecret: 'bench-client-secret-0123456789',
  appId: 'jitsi_app',
  appSecret: 'bench-jitsi-app-secret-0123456789',
}
const jitsiBaseUrl = 'https://meet.example.com'
const room = 'standup'
const adapterEntryPath = 'dist/src/cli/main.js'
const adapterEntry = join(rootDir, adapterEntryPath)
const logDir = join(tmpdir(), `jitsi-oidc-bench-${process.pid}`)

function startWatchdog() {
  const phases = settings.concurrency.length + 3
  const budgetS = 2 * (phases * settings.durationS + 60) + settings.soakMaxS + 120
  const timer = setTimeout(() => {
    console.error(`bench: watchdog fired after ${budgetS} s; stopping everything`)
    proc.killChildren()
    process.exit(2)
  }, budgetS * 1000)
  timer.unref()
}

async function startStub() {
  const child = proc.spawnPinned(
    1,
    [...settings.loadNodeArgs, join(benchDir, 'stub-provider.mjs')],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        STUB_ALG: settings.alg,
        STUB_CLIENT_ID: secrets.clientId,
        STUB_CLIENT_SECRET: secrets.clientSecret,
      },
    },
  )
  const { port } = await new Promise((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', (code) => reject(new Error(`stub exited with ${code}`)))
  })
  return { child, url: `http://127.0.0.1:${port}` }
}

function startGenerator() {
  return proc.spawnPinned(1, [...settings.loadNodeArgs, join(benchDir, 'load-generator.mjs')], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
}

async function startTarget(name, stubUrl) {
  const port = await proc.findFreePort()
  const logPath = join(logDir, `${name}.log`)
  const logFd = openSync(logPath, 'w')
  const entry = name === 'baseline' ? join(settings.baselineDir, adapterEntryPath) : adapterEntry
  const nodeArgs =
    name === 'baseline' && settings.baselineNodeArgs
      ? settings.baselineNodeArgs
      : settings.targetNodeArgs
  const args = name === 'floor' ? [join(benchDir, 'floor.mjs')] : [...nodeArgs, entry, 'serve']
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    OIDC_ISSUER_URL: stubUrl,
    OIDC_ALLOW_HTTP: 'true',
    OIDC_CLIENT_ID: secrets.clientId,
    OIDC_CLIENT_SECRET: secrets.clientSecret,
    JITSI_BASE_URL: jitsiBaseUrl,
    JWT_APP_ID: secrets.appId,
    JWT_APP_SECRET: secrets.appSecret,
    HOST: '127.0.0.1',
    PORT: String(port),
    ADAPTER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: settings.logLevel,
    // Extra environment for the target, e.g. BENCH_TARGET_ENV="MALLOC_ARENA_MAX=2", or for the
    // baseline BENCH_BASELINE_ENV if set (one build under two environments, side by side).
    ...toEnv((name === 'baseline' && settings.baselineEnv) || settings.targetEnv),
  }

  const spawnedAt = performance.now()
  const child = proc.spawnPinned(0, args, { stdio: ['ignore', logFd, logFd], env, cwd: rootDir })
  closeSync(logFd)
  const url = `http://127.0.0.1:${port}`
  const readyMs = await proc.waitForReady(`${url}/oidc/ready`, spawnedAt, child, 20_000)
  return { child, url, logPath, readyMs }
}

/** Counts the target's log lines: JSON lines at warn or above, and lines that are not JSON. */
async function countLogLines(logPath) {
  const counts = { lines: 0, warnings: 0, other: 0 }
  const reader = createInterface({ input: createReadStream(logPath) })
  for await (const line of reader) {
    counts.lines += 1
    const level = /^\{"level":(\d+)/.exec(line)?.[1]
    if (level === undefined) counts.other += 1
    else if (Number(level) >= 40) counts.warnings += 1
  }
  return counts
}

const closed = (concurrency, durationMs, maxLogins) => ({
  mode: 'closed',
  concurrency,
  durationMs,
  maxLogins,
})

/** Points the generator at one target, runs a phase there and files it under that target. */
async function runTargetPhase(bench, name, phaseName, command) {
  const target = bench.targets[name]
  await proc.sendCommand(bench.generator, {
    cmd: 'target',
    target: {
      adapterUrl: target.url,
      stubUrl: bench.stub.url,
      jitsiBaseUrl,
      room,
      appId: secrets.appId,
      appSecret: secrets.appSecret,
    },
  })
  const pids = {
    target: target.child.pid,
    stub: bench.stub.child.pid,
    generator: bench.generator.pid,
  }
  const phase = await runPhase(phaseName, command, bench.generator, pids, name)
  target.phases.push(phase)
  return phase
}

/**
 * Runs every target through the same phases, interleaved phase by phase (adapter, then floor)
 * so that drift in this shared machine's speed lands on both sides of a ratio alike.
 */
async function benchmarkTargets(bench, names) {
  const durationMs = settings.durationS * 1000
  for (const name of names) {
    const target = await startTarget(name, bench.stub.url)
    bench.targets[name] = { ...target, phases: [], rssMb: { firstCount: settings.firstLogins } }
    console.error(`bench: ${name} ready ${target.readyMs} ms after spawn`)
  }
  await sleep(500)
  for (const name of names)
    bench.targets[name].rssMb.idle = proc.readRssMb(bench.targets[name].child.pid)

  for (const name of names) {
    // The first logins run at the soak's concurrency, so that the two RSS readings differ in the
    // number of logins only: V8 doubles its young generation (16 → 32 MB) within ~400 logins at
    // c=64, but only around the 1,000th at c=8, so a reading after a c=8 warm-up misses it.
    const first = closed(settings.soakConcurrency, 60_000, settings.firstLogins)
    await runTargetPhase(bench, name, 'warm-up', first)
    await sleep(500)
    bench.targets[name].rssMb.afterFirst = proc.readRssMb(bench.targets[name].child.pid)
    // JIT tiering goes on well past the first thousand logins; measure a warm process.
    await runTargetPhase(bench, name, 'warm-up 2', closed(64, durationMs))
  }
  for (const concurrency of settings.concurrency) {
    for (const name of names) {
      await runTargetPhase(bench, name, `closed c=${concurrency}`, closed(concurrency, durationMs))
    }
  }

  for (const name of names) {
    const target = bench.targets[name]
    const closedPhases = target.phases.filter((phase) => phase.name.startsWith('closed'))
    target.maxLoginsPerSecond = Math.max(...closedPhases.map((phase) => phase.loginsPerSecond))
    target.ownOpenRate = settings.openRate ?? Math.max(1, Math.round(target.maxLoginsPerSecond / 2))
  }
  const adapterRate = bench.targets.adapter?.ownOpenRate
  for (const name of names) {
    const rate = bench.targets[name].ownOpenRate
    const open = (ratePerSecond) => ({ mode: 'open', ratePerSecond, durationMs })
    const label = settings.openRate ? 'fixed' : '50%'
    await runTargetPhase(bench, name, `open ${rate}/s (${label})`, open(rate))
    if (name !== 'adapter' && adapterRate && adapterRate !== rate) {
      await runTargetPhase(bench, name, `open ${adapterRate}/s (adapter's 50%)`, open(adapterRate))
    }
  }
  if (bench.targets.adapter) await soakAdapter(bench)

  const results = {}
  for (const name of names) results[name] = await stopTarget(bench.targets[name], name)
  return results
}

/** Logs in up to BENCH_LOGINS in total, sampling RSS on the way, to tell growth from a plateau. */
async function soakAdapter(bench) {
  const adapter = bench.targets.adapter
  const pid = adapter.child.pid
  const done = () => adapter.phases.reduce((sum, phase) => sum + phase.logins, 0)
  const remaining = settings.totalLogins - done()

  if (remaining > 0) {
    const rssEvery = Math.max(1000, Math.round(remaining / 20))
    const command = closed(settings.soakConcurrency, settings.soakMaxS * 1000, remaining)
    const offset = done()
    const soak = await runTargetPhase(bench, 'adapter', 'soak', {
      ...command,
      rssPid: pid,
      rssEvery,
    })
    adapter.rssMb.curve = soak.rssCurve.map((point) => ({
      ...point,
      logins: point.logins + offset,
    }))
    adapter.soak = { logins: soak.logins, elapsedMs: soak.elapsedMs }
  }
  await sleep(500)
  adapter.rssMb.afterTotal = proc.readRssMb(pid)
  adapter.rssMb.totalCount = done()
}

async function stopTarget(target, name) {
  await proc.stopChild(target.child)
  const log = await countLogLines(target.logPath)
  console.error(
    `bench: ${name}: stopped (${log.lines} log lines, ${log.warnings} at warn or above, ${log.other} not JSON)`,
  )
  return {
    readyMs: target.readyMs,
    rssMb: target.rssMb,
    maxLoginsPerSecond: target.maxLoginsPerSecond,
    ownOpenRate: target.ownOpenRate,
    soak: target.soak,
    logLines: log.lines,
    logWarnings: log.warnings,
    logOther: log.other,
    phases: target.phases,
  }
}

/** The checkout's commit, marked when tracked files have uncommitted changes; null without git. */
function describeRevision(dir) {
  const git = (...args) => spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8' })
  const head = git('rev-parse', '--short', 'HEAD')
  if (head.status !== 0) return null
  const changed = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== ''
  return `${head.stdout.trim()}${changed ? ' with uncommitted changes' : ''}`
}

function describeMachine() {
  return {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    kernel: release(),
    pinned: proc.hasTaskset,
  }
}

async function main() {
  const startedAt = new Date().toISOString()
  startWatchdog()
  mkdirSync(logDir, { recursive: true })
  const pinnedSelf = proc.pinSelf(1)
  const machine = describeMachine()
  if (settings.baselineDir && !settings.targets.includes('baseline')) {
    settings.targets.splice(1, 0, 'baseline')
  }
  const targets = settings.targets.filter((name) => {
    if (name === 'baseline' && !existsSync(join(settings.baselineDir ?? '', adapterEntryPath))) {
      console.error(`bench: BENCH_BASELINE_DIR has no ${adapterEntryPath}; skipping the baseline`)
      return false
    }
    if (name !== 'adapter' || existsSync(adapterEntry)) return true
    console.error(`bench: ${adapterEntry} is missing (run "npm run build"); skipping the adapter`)
    return false
  })
  console.error(
    proc.hasTaskset && pinnedSelf
      ? 'bench: pinned: target on CPU 0; stub, load generator and this runner on CPU 1'
      : 'bench: taskset not available: processes are NOT pinned, CPU shares compete',
  )

  const stub = await startStub()
  const generator = startGenerator()
  const results = await benchmarkTargets({ stub, generator, targets: {} }, targets)
  const stubStats = await fetch(`${stub.url}/_bench/stats`).then((res) => res.json())
  await proc.stopChild(generator)
  await proc.stopChild(stub.child)

  const ratios =
    results.adapter && results.floor ? report.buildRatios(results.adapter, results.floor) : []
  const baselineRatios =
    results.adapter && results.baseline ? report.buildRatios(results.adapter, results.baseline) : []
  const checks = results.adapter ? report.buildChecks(results.adapter, results.floor) : []
  const output = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    revisions: {
      adapter: describeRevision(rootDir),
      ...(settings.baselineDir && { baseline: describeRevision(settings.baselineDir) }),
    },
    settings,
    stubStats,
    results,
    ratios,
    baselineRatios,
    checks,
  }
  console.log(report.buildMarkdown(output))

  mkdirSync(settings.resultsDir, { recursive: true })
  const file = join(settings.resultsDir, `${output.startedAt.replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`)
  console.error(`bench: wrote ${file}`)
  if (!settings.keepLogs) rmSync(logDir, { recursive: true, force: true })
  else console.error(`bench: logs kept in ${logDir}`)

  const errors = Object.values(results)
    .flatMap((r) => r.phases)
    .reduce((n, p) => n + p.errors, 0)
  process.exitCode = errors + stubStats.errors > 0 ? 1 : 0
}

process.on('SIGINT', () => {
  proc.killChildren()
  process.exit(130)
})
process.on('SIGTERM', () => {
  proc.killChildren()
  process.exit(143)
})

main().then(
  () => process.exit(),
  (error) => {
    console.error(`bench: failed: ${error.stack ?? error}`)
    proc.killChildren()
    process.exit(1)
  },
)
