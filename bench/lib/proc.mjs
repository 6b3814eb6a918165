// Process plumbing for the benchmark: CPU pinning, spawning, /proc readings, readiness.
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

const clockTicksPerSecond = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString()) || 100
const children = new Set()

export const hasTaskset = spawnSync('taskset', ['-V']).status === 0

/** Pins every thread of this process to `cpu`; returns false where taskset is missing. */
export function pinSelf(cpu) {
  if (!hasTaskset) return false
  return spawnSync('taskset', ['-a', '-pc', String(cpu), String(process.pid)]).status === 0
}

/** Spawns `node args` on `cpu` (through taskset, so all its threads inherit the mask). */
export function spawnPinned(cpu, args, options) {
  const [command, argv] = hasTaskset
    ? ['taskset', ['-c', String(cpu), process.execPath, ...args]]
    : [process.execPath, args]
  const child = spawn(command, argv, options)
  children.add(child)
  child.on('exit', () => children.delete(child))
  return child
}

export async function stopChild(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** Kills every child still running; used on the way out, including on failure. */
export function killChildren() {
  for (const child of children) child.kill('SIGKILL')
}

/** User + system CPU time of a whole process (all threads) in milliseconds. */
export function readCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond) * 1000
}

/** Kernel-side (system) CPU time of a process so far, in ms. */
export function readSystemCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[12]) / clockTicksPerSecond) * 1000
}

/** Minor page faults the process has taken so far (/proc/<pid>/stat field 10). */
export function readMinorFaults(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7])
}

/**
 * Time a core spent running anything (user + nice + system) and time the hypervisor stole
 * from it, in milliseconds since boot, from /proc/stat.
 */
export function readCoreMs(cpu) {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((row) => row.startsWith(`cpu${cpu} `))
  const [user, nice, system, , , , , steal] = line.split(/\s+/).slice(1).map(Number)
  const toMs = (ticks) => (ticks / clockTicksPerSecond) * 1000
  return { busy: toMs(user + nice + system), steal: toMs(steal) }
}

/** Resident set size of a process in MiB. */
export function readRssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
  return Math.round((kib / 1024) * 10) / 10
}

export function findFreePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

function fetchStatus(url) {
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode))
    })
    req.setTimeout(1000, () => req.destroy())
    req.on('error', () => resolve(0))
    req.end()
  })
}

/** Polls `url` every 5 ms until it answers 200; resolves with the ms since `since`, or throws. */
export async function waitForReady(url, since, child, timeoutMs) {
  while (performance.now() - since < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`)
    if ((await fetchStatus(url)) === 200) return Math.round(performance.now() - since)
    await sleep(5)
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`)
}

/**
 * Sends one command to a child over IPC and waits for the reply with the same id; messages
 * with that id that carry an `event` go to `onEvent` on the way.
 */
let nextMessageId = 1
export function sendCommand(child, message, onEvent = () => {}) {
  const id = nextMessageId++
  return new Promise((resolve, reject) => {
    const onMessage = (reply) => {
      if (reply.id !== id) return
      if (reply.event) return onEvent(reply.event)
      child.off('message', onMessage)
      if (reply.error) reject(new Error(reply.error))
      else resolve(reply.result)
    }
    child.on('message', onMessage)
    child.send({ ...message, id })
  })
}
