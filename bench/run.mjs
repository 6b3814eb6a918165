#!/usr/bin/env node
// The login-storm benchmark (npm run bench). Starts the stub provider and the load generator
// on CPU 1, then, one after the other on CPU 0, the adapter and the floor; drives each through
// warm-up, closed loop at each concurrency, open loop at half the best closed-loop rate and
// (adapter only) a soak up to BENCH_LOGINS logins. Prints Markdown, writes JSON under
// bench/results/. Everything it starts is stopped, and a watchdog ends the run if it hangs.
//
// Knobs: --quick or BENCH_QUICK=1 (short smoke run), BENCH_DURATION_S (per phase, default 10),
// BENCH_LOGINS (soak total, default 100000), BENCH_CONCURRENCY (default 1,8,64,256),
// BENCH_ALG (ES256 | RS256), BENCH_TARGETS (default adapter,floor), BENCH_TARGET_NODE_ARGS
// (extra node flags for the adapter, e.g. --cpu-prof), BENCH_LOAD_NODE_ARGS (the same for the
// stub and the load generator), BENCH_LOG_LEVEL (adapter, default info), BENCH_KEEP_LOGS=1.
import { openSync, closeSync, createReadStream, existsSync, mkdirSync, rmSync } from 'node:fs'
import { writeFileSync } from 'node:fs'
import { cpus, release, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import * as proc from './lib/proc.mjs'
import * as report from './lib/report.mjs'

const benchDir = dirname(fileURLToPath(import.meta.url))
const rootDir = dirname(benchDir)
const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1'
const settings = {
  quick,
  durationS: Number(process.env.BENCH_DURATION_S ?? (quick ? 2 : 10)),
  totalLogins: Number(process.env.BENCH_LOGINS ?? (quick ? 3000 : 100_000)),
  firstLogins: 1000,
  concurrency: (process.env.BENCH_CONCURRENCY ?? '1,8,64,256').split(',').map(Number),
  soakConcurrency: 64,
  soakMaxS: Number(process.env.BENCH_SOAK_MAX_S ?? 900),
  alg: process.env.BENCH_ALG ?? 'ES256',
  targets: (process.env.BENCH_TARGETS ?? 'adapter,floor').split(','),
  targetNodeArgs: (process.env.BENCH_TARGET_NODE_ARGS ?? '').split(' ').filter(Boolean),
  loadNodeArgs: (process.env.BENCH_LOAD_NODE_ARGS ?? '').split(' ').filter(Boolean),
  keepLogs: process.env.BENCH_KEEP_LOGS === '1',
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
}
const secrets = {
  clientId: 'bench',
  clientSecret: 'bench-client-secret-0123456789',
  appId: 'jitsi_app',
  appSecret: 'bench-jitsi-app-secret-0123456789',
}
const jitsiBaseUrl = 'https://meet.example.com'
const room = 'standup'
const adapterEntry = join(rootDir, 'dist/src/cli/main.js')
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
  const args =
    name === 'floor'
      ? [join(benchDir, 'floor.mjs')]
      : [...settings.targetNodeArgs, adapterEntry, 'serve']
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

/** CPU counters of our processes and of both cores, in ms; `runner` is this process. */
function readCpuCounters(pids) {
  const own = process.cpuUsage()
  const counters = { runner: (own.user + own.system) / 1000 }
  for (const [key, pid] of Object.entries(pids)) counters[key] = proc.readCpuMs(pid)
  for (const core of [0, 1]) {
    const { busy, steal } = proc.readCoreMs(core)
    counters[`core${core}`] = busy
    counters[`steal${core}`] = steal
  }
  return counters
}

/**
 * Runs one phase. CPU shares are taken over the loaded window (start to deadline, before
 * in-flight logins drain), CPU per login over all of it. `otherCore0` is what processes
 * other than the target ran on its core (another build or test run on this machine would
 * show here); the benchmark cannot prevent it, only report it.
 */
async function runPhase(name, command, generator, pids) {
  const marks = {}
  const mark = (event) => (marks[event] = { at: performance.now(), cpu: readCpuCounters(pids) })
  mark('start')
  const result = await proc.sendCommand(generator, command, mark)
  mark('end')

  const window = marks.deadline ?? marks.end
  const wallMs = window.at - marks.start.at
  const used = (key) => window.cpu[key] - marks.start.cpu[key]
  const cpu = {
    targetShare: used('target') / wallMs,
    stubShare: used('stub') / wallMs,
    generatorShare: used('generator') / wallMs,
    otherCore0: Math.max(0, used('core0') - used('target')) / wallMs,
    otherCore1:
      Math.max(0, used('core1') - used('stub') - used('generator') - used('runner')) / wallMs,
    stealShare: (used('steal0') + used('steal1')) / 2 / wallMs,
    targetMsPerLogin: result.logins
      ? (marks.end.cpu.target - marks.start.cpu.target) / result.logins
      : null,
  }
  const loadSideSaturated = cpu.stubShare + cpu.generatorShare > 0.9
  const disturbed = cpu.otherCore0 > 0.1 || cpu.stealShare > 0.05
  const phase = { name, ...result, cpu, loadSideSaturated, disturbed }
  const l = result.latencyMs.login
  const lag = result.latencyMs.startLag
  if (lag.count)
    console.error(`bench:   ${name}: generator start lag p99 ${lag.p99} ms, max ${lag.max} ms`)
  console.error(
    `bench:   ${name}: ${result.loginsPerSecond} logins/s, p99 ${l.p99} ms, errors ${result.errors}, ` +
      `CPU target ${Math.round(cpu.targetShare * 100)}% stub ${Math.round(cpu.stubShare * 100)}% gen ${Math.round(cpu.generatorShare * 100)}% ` +
      `other core0 ${Math.round(cpu.otherCore0 * 100)}% core1 ${Math.round(cpu.otherCore1 * 100)}% steal ${Math.round(cpu.stealShare * 100)}%`,
  )
  return phase
}

async function benchmarkTarget(name, stub, generator, openRates) {
  console.error(`bench: ${name}: starting`)
  const target = await startTarget(name, stub.url)
  const pid = target.child.pid
  const pids = { target: pid, stub: stub.child.pid, generator: generator.pid }
  await proc.sendCommand(generator, {
    cmd: 'target',
    target: {
      adapterUrl: target.url,
      stubUrl: stub.url,
      jitsiBaseUrl,
      room,
      appId: secrets.appId,
      appSecret: secrets.appSecret,
    },
  })

  await sleep(500)
  const rssMb = { idle: proc.readRssMb(pid), firstCount: settings.firstLogins }
  const phases = []
  const closed = (concurrency, durationMs, maxLogins) => ({
    mode: 'closed',
    concurrency,
    durationMs,
    maxLogins,
  })
  phases.push(await runPhase('warm-up', closed(8, 60_000, settings.firstLogins), generator, pids))
  await sleep(500)
  rssMb.afterFirst = proc.readRssMb(pid)
  // JIT tiering goes on well past the first thousand logins; measure a warm process.
  const warmMs = settings.durationS * 1000
  phases.push(await runPhase('warm-up 2', closed(64, warmMs), generator, pids))

  for (const concurrency of settings.concurrency) {
    phases.push(
      await runPhase(
        `closed c=${concurrency}`,
        closed(concurrency, settings.durationS * 1000),
        generator,
        pids,
      ),
    )
  }
  const closedPhases = phases.filter((phase) => phase.name.startsWith('closed'))
  const maxLoginsPerSecond = Math.max(...closedPhases.map((phase) => phase.loginsPerSecond))
  const ownRate = Math.max(1, Math.round(maxLoginsPerSecond / 2))
  for (const [label, rate] of [[`open ${ownRate}/s (50%)`, ownRate], ...openRates]) {
    phases.push(
      await runPhase(
        label,
        { mode: 'open', ratePerSecond: rate, durationMs: settings.durationS * 1000 },
        generator,
        pids,
      ),
    )
  }

  let soak
  const done = () => phases.reduce((sum, phase) => sum + phase.logins, 0)
  if (name === 'adapter' && done() < settings.totalLogins) {
    const remaining = settings.totalLogins - done()
    const command = closed(settings.soakConcurrency, settings.soakMaxS * 1000, remaining)
    const rssEvery = Math.max(1000, Math.round(remaining / 20))
    soak = await runPhase('soak', { ...command, rssPid: pid, rssEvery }, generator, pids)
    const offset = done()
    rssMb.curve = soak.rssCurve.map((point) => ({ ...point, logins: point.logins + offset }))
    phases.push(soak)
  }
  if (name === 'adapter') {
    await sleep(500)
    rssMb.afterTotal = proc.readRssMb(pid)
    rssMb.totalCount = done()
  }

  await proc.stopChild(target.child)
  const log = await countLogLines(target.logPath)
  console.error(
    `bench: ${name}: done (${log.lines} log lines, ${log.warnings} at warn or above, ${log.other} not JSON)`,
  )
  return {
    readyMs: target.readyMs,
    rssMb,
    maxLoginsPerSecond,
    ownOpenRate: ownRate,
    soak: soak && { logins: soak.logins, elapsedMs: soak.elapsedMs },
    logLines: log.lines,
    logWarnings: log.warnings,
    logOther: log.other,
    phases,
  }
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
  startWatchdog()
  mkdirSync(logDir, { recursive: true })
  const pinnedSelf = proc.pinSelf(1)
  const machine = describeMachine()
  const targets = settings.targets.filter((name) => {
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
  const results = {}
  for (const name of targets) {
    const openRates =
      name === 'floor' && results.adapter
        ? [[`open ${results.adapter.ownOpenRate}/s (adapter's 50%)`, results.adapter.ownOpenRate]]
        : []
    results[name] = await benchmarkTarget(name, stub, generator, openRates)
  }
  const stubStats = await fetch(`${stub.url}/_bench/stats`).then((res) => res.json())
  await proc.stopChild(generator)
  await proc.stopChild(stub.child)

  const ratios = results.adapter && results.floor ? buildAllRatios(results) : []
  const checks = results.adapter ? report.buildChecks(results.adapter, results.floor) : []
  const output = {
    startedAt: new Date().toISOString(),
    machine,
    settings,
    stubStats,
    results,
    ratios,
    checks,
  }
  printMarkdown(output)

  const resultsDir = join(benchDir, 'results')
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `${output.startedAt.replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`)
  console.error(`bench: wrote ${file}`)
  if (!settings.keepLogs) rmSync(logDir, { recursive: true, force: true })
  else console.error(`bench: logs kept in ${logDir}`)

  const errors = Object.values(results)
    .flatMap((r) => r.phases)
    .reduce((n, p) => n + p.errors, 0)
  process.exitCode = errors + stubStats.errors > 0 ? 1 : 0
}

function buildAllRatios(results) {
  const floor = results.floor
  const adapterOpen = results.adapter.phases.find((p) => p.name.startsWith('open'))
  const floorAtAdapterRate = floor.phases.find((p) => p.name.includes("adapter's 50%"))
  const ratios = report.buildRatios(results.adapter, floor)
  ratios.unshift({
    phase: 'best closed loop',
    throughput: results.adapter.maxLoginsPerSecond / floor.maxLoginsPerSecond,
    p99: null,
  })
  if (adapterOpen && floorAtAdapterRate) {
    ratios.push({
      phase: `${adapterOpen.name.split(' (')[0]} (same rate)`,
      throughput: adapterOpen.loginsPerSecond / floorAtAdapterRate.loginsPerSecond,
      p99: adapterOpen.latencyMs.login.p99 / floorAtAdapterRate.latencyMs.login.p99,
    })
  }
  return ratios
}

function printMarkdown(output) {
  const { machine, settings: s } = output
  const lines = [
    `## Login storm, ${output.startedAt}`,
    '',
    `${machine.nproc} × ${machine.cpuModel}, Node ${machine.node}, Linux ${machine.kernel}. ` +
      (machine.pinned
        ? 'Target pinned to CPU 0; stub and load generator share CPU 1.'
        : 'Not pinned (no taskset).') +
      ` ID tokens ${s.alg}; ${s.durationS} s per phase${s.quick ? ' (quick mode)' : ''}. ` +
      `Latencies in ms, measured at the client; "redirect own" subtracts the stub's token-endpoint handling time; open-loop latencies count from the scheduled start. ` +
      `CPU shares are of one core; ⚠ load side marks phases where stub + generator used > 90% of theirs.`,
    '',
  ]
  for (const [name, result] of Object.entries(output.results)) {
    lines.push(report.buildTargetSection(name, result), '')
  }
  if (output.ratios.length)
    lines.push('### Adapter ÷ floor', '', report.buildRatioTable(output.ratios), '')
  if (output.checks.length)
    lines.push('### Targets', '', report.buildChecksTable(output.checks), '')
  lines.push(
    `Stub: ${output.stubStats.token} token calls, ${output.stubStats.userinfo} userinfo calls, ${output.stubStats.errors} errors.`,
  )
  console.log(lines.join('\n'))
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
