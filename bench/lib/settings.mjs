// The benchmark's knobs (BENCH_*), read from the environment and checked all at once, so a
// mistyped value stops the run before anything starts instead of producing a report of NaNs.
import { join } from 'node:path'

const knownTargets = ['adapter', 'floor', 'baseline']
const algorithms = ['ES256', 'RS256']

/**
 * Reads the settings; `problems` names each bad variable with what it accepts. `benchDir` is
 * the default home of the JSON results.
 */
export function readSettings(env, argv, benchDir) {
  const problems = []
  const quick = argv.includes('--quick') || env.BENCH_QUICK === '1'

  const number = (name, fallback, { integer = false, min = 0 } = {}) => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const value = Number(raw)
    const kind = integer ? 'an integer' : 'a number'
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min) {
      problems.push(`${name}=${raw}: must be ${kind} of at least ${min}`)
      return fallback
    }
    return value
  }
  const words = (raw) => (raw ?? '').split(' ').filter(Boolean)

  const concurrencyRaw = env.BENCH_CONCURRENCY || '1,8,64,256'
  const concurrency = concurrencyRaw.split(',').map(Number)
  if (!concurrency.every((c) => Number.isInteger(c) && c >= 1)) {
    problems.push(
      `BENCH_CONCURRENCY=${concurrencyRaw}: must be a comma-separated list of integers ≥ 1, e.g. 1,8,64`,
    )
  }

  const alg = env.BENCH_ALG || 'ES256'
  if (!algorithms.includes(alg)) {
    problems.push(`BENCH_ALG=${alg}: must be one of ${algorithms.join(', ')}`)
  }

  const targetsRaw = env.BENCH_TARGETS || 'adapter,floor'
  const targets = targetsRaw.split(',')
  const unknown = targets.filter((name) => !knownTargets.includes(name))
  if (unknown.length > 0) {
    problems.push(
      `BENCH_TARGETS=${targetsRaw}: unknown ${unknown.join(', ')}; use adapter, floor (and baseline with BENCH_BASELINE_DIR)`,
    )
  }
  if (targets.includes('baseline') && !env.BENCH_BASELINE_DIR) {
    problems.push('BENCH_TARGETS has baseline: set BENCH_BASELINE_DIR to the checkout it runs')
  }

  const settings = {
    quick,
    durationS: number('BENCH_DURATION_S', quick ? 2 : 10, { min: 0.1 }),
    // Quick mode has no soak: its warm-ups alone pass a few thousand logins.
    totalLogins: number('BENCH_LOGINS', quick ? 0 : 100_000, { integer: true }),
    firstLogins: 1000,
    concurrency,
    soakConcurrency: 64,
    soakMaxS: number('BENCH_SOAK_MAX_S', 900, { min: 1 }),
    alg,
    targets,
    targetNodeArgs: words(env.BENCH_TARGET_NODE_ARGS),
    loadNodeArgs: words(env.BENCH_LOAD_NODE_ARGS),
    targetEnv: words(env.BENCH_TARGET_ENV),
    keepLogs: env.BENCH_KEEP_LOGS === '1',
    logLevel: env.BENCH_LOG_LEVEL || 'info',
    // A fixed open-loop rate for every target instead of half of each one's best, so that two
    // runs (two commits, two flag sets) are compared at the same arrival rate.
    openRate: number('BENCH_OPEN_RATE', null, { min: 1 }),
    // Another built checkout of the adapter (e.g. `git worktree add /tmp/base main`, then
    // `npm ci && npm run build` there), run as target "baseline" through the same phases.
    baselineDir: env.BENCH_BASELINE_DIR || null,
    // Node flags and environment for the baseline instead of the target's: with
    // BENCH_BASELINE_DIR=. this compares one build under two flag sets or environments.
    baselineNodeArgs: env.BENCH_BASELINE_NODE_ARGS ? words(env.BENCH_BASELINE_NODE_ARGS) : null,
    baselineEnv: env.BENCH_BASELINE_ENV ? words(env.BENCH_BASELINE_ENV) : null,
    resultsDir: env.BENCH_RESULTS_DIR || join(benchDir, 'results'),
  }
  for (const [name, pairs] of [
    ['BENCH_TARGET_ENV', settings.targetEnv],
    ['BENCH_BASELINE_ENV', settings.baselineEnv ?? []],
  ]) {
    const bad = pairs.filter((pair) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(pair))
    if (bad.length > 0) problems.push(`${name}: ${bad.join(' ')} is not NAME=value`)
  }
  return { settings, problems }
}

/** `NAME=value` words as an environment object. */
export function toEnv(pairs) {
  return Object.fromEntries(
    pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  )
}
