// One benchmark phase: drive the load generator, and read the CPU of everything around it.
import * as proc from './proc.mjs'

/** CPU counters of our processes and of both cores, in ms; `runner` is this process. */
function readCpuCounters(pids) {
  const own = process.cpuUsage()
  const counters = { runner: (own.user + own.system) / 1000 }
  for (const [key, pid] of Object.entries(pids)) counters[key] = proc.readCpuMs(pid)
  counters.targetFaults = proc.readMinorFaults(pids.target)
  counters.targetSystem = proc.readSystemCpuMs(pids.target)
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
export async function runPhase(name, command, generator, pids, targetName) {
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
    // The kernel's part of the target's CPU: syscalls, thread wake-ups, page faults.
    targetSystemShareOfCpu:
      (marks.end.cpu.targetSystem - marks.start.cpu.targetSystem) /
      Math.max(1, marks.end.cpu.target - marks.start.cpu.target),
    // Page faults cost more in some VMs than the work around them; a target that keeps
    // returning memory to the kernel and faulting it back in shows here.
    targetFaultsPerLogin: result.logins
      ? (marks.end.cpu.targetFaults - marks.start.cpu.targetFaults) / result.logins
      : null,
  }
  const loadSideSaturated = cpu.stubShare + cpu.generatorShare > 0.9
  const disturbed = cpu.otherCore0 > 0.1 || cpu.stealShare > 0.05
  const phase = { name, ...result, cpu, loadSideSaturated, disturbed }
  const l = result.latencyMs.login
  const lag = result.latencyMs.startLag
  if (lag.count)
    console.error(
      `bench:   ${targetName} ${name}: generator start lag p99 ${lag.p99} ms, max ${lag.max} ms`,
    )
  console.error(
    `bench:   ${targetName} ${name}: ${result.loginsPerSecond} logins/s, p99 ${l.p99} ms, errors ${result.errors}, ` +
      `CPU target ${Math.round(cpu.targetShare * 100)}% (${cpu.targetMsPerLogin?.toFixed(2)} ms, ${Math.round(cpu.targetSystemShareOfCpu * 100)}% system, ${cpu.targetFaultsPerLogin?.toFixed(1)} faults per login) stub ${Math.round(cpu.stubShare * 100)}% gen ${Math.round(cpu.generatorShare * 100)}% ` +
      `other core0 ${Math.round(cpu.otherCore0 * 100)}% core1 ${Math.round(cpu.otherCore1 * 100)}% steal ${Math.round(cpu.stealShare * 100)}%`,
  )
  return phase
}
