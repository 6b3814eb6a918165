// Turns a benchmark result into Markdown tables and target checks.

export const goals = {
  floorRatio: 0.6,
  loginsPerSecond: 1000,
  ownHopP99Ms: 5,
  idleRssMb: 80,
  rssGrowth: 0.1,
  readyMs: 1000,
}

const fmt = (value, digits = 1) => (value == null ? '–' : Number(value).toFixed(digits))
const pct = (share) => (share == null ? '–' : `${Math.round(share * 100)}%`)
const latencyCells = (l, keys) => keys.map((key) => fmt(l?.[key], 2)).join(' / ')

function buildPhaseRow(phase) {
  const l = phase.latencyMs
  const note = [
    phase.loadSideSaturated ? '⚠ load side >90%' : '',
    phase.disturbed
      ? `⚠ other load: core 0 ${pct(phase.cpu.otherCore0)}, steal ${pct(phase.cpu.stealShare)}`
      : '',
    phase.errors ? '⚠ errors' : '',
    l.startLag?.count ? `start lag p99 ${fmt(l.startLag.p99, 2)}` : '',
  ]
  return [
    phase.name,
    fmt(phase.loginsPerSecond, 0),
    latencyCells(l.login, ['p50', 'p90', 'p99', 'max']),
    latencyCells(l.auth, ['p50', 'p99']),
    latencyCells(l.redirect, ['p50', 'p99']),
    latencyCells(l.redirectOwn, ['p50', 'p99']),
    latencyCells(l.authorize, ['p50', 'p99']),
    fmt(phase.cpu.targetMsPerLogin, 3),
    pct(phase.cpu.targetShare),
    `${pct(phase.cpu.stubShare)} + ${pct(phase.cpu.generatorShare)}`,
    String(phase.errors),
    note.filter(Boolean).join(', '),
  ]
}

function buildTable(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

export function buildTargetSection(name, result) {
  const rss = result.rssMb
  const soak = result.soak
  const lines = [
    `### ${name}`,
    '',
    `ready ${result.readyMs} ms after spawn · RSS idle ${fmt(rss.idle)} MB, after ${rss.firstCount} logins ${fmt(rss.afterFirst)} MB` +
      (rss.afterTotal != null ? `, after ${rss.totalCount} logins ${fmt(rss.afterTotal)} MB` : '') +
      (soak ? ` · soak of ${soak.logins} logins took ${fmt(soak.elapsedMs / 1000)} s` : '') +
      (result.logWarnings != null
        ? ` · log: ${result.logLines} lines, ${result.logWarnings} at warn or above, ${result.logOther} not JSON`
        : ''),
    ...(rss.curve?.length
      ? [
          '',
          `RSS during the soak (logins → MB): ${rss.curve.map((p) => `${p.logins} → ${fmt(p.rssMb)}`).join(', ')}`,
        ]
      : []),
    '',
    buildTable(
      [
        'phase',
        'logins/s',
        'login p50 / p90 / p99 / max ms',
        '/oidc/auth p50 / p99',
        '/oidc/redirect p50 / p99',
        'redirect own p50 / p99',
        'stub authorize p50 / p99',
        'CPU ms / login',
        'target CPU',
        'stub + gen CPU',
        'errors',
        'note',
      ],
      result.phases.map(buildPhaseRow),
    ),
  ]
  return lines.join('\n')
}

export function buildRatioTable(ratios, other = 'floor') {
  return buildTable(
    ['phase', `logins/s adapter ÷ ${other}`, `login p99 adapter ÷ ${other}`],
    ratios.map((r) => [r.phase, fmt(r.throughput, 2), fmt(r.p99, 2)]),
  )
}

export function buildChecksTable(checks) {
  return buildTable(
    ['target', 'goal', 'measured', 'met'],
    checks.map((c) => [c.name, c.goal, c.measured, c.met == null ? '–' : c.met ? 'yes' : 'NO']),
  )
}

/**
 * Adapter ÷ another target (the floor or a baseline): the best closed loops, each phase with
 * the other's phase of the same name, and the adapter's open loop with the other's run at the
 * adapter's rate.
 */
export function buildRatios(adapter, other) {
  // A phase name can repeat (BENCH_CONCURRENCY=64,64): the nth pairs with the other's nth.
  const seen = new Map()
  const byName = adapter.phases
    .filter((phase) => !phase.name.startsWith('warm-up') && phase.name !== 'soak')
    .map((phase) => {
      const nth = seen.get(phase.name) ?? 0
      seen.set(phase.name, nth + 1)
      const match = other.phases.filter((o) => o.name === phase.name)[nth]
      return match && compare(phase.name, phase, match)
    })
    .filter(Boolean)
  const adapterOpen = adapter.phases.find((p) => p.name.startsWith('open'))
  const otherAtAdapterRate = other.phases.find((p) => p.name.includes("adapter's 50%"))
  return [
    {
      phase: 'best closed loop',
      throughput: adapter.maxLoginsPerSecond / other.maxLoginsPerSecond,
      p99: null,
    },
    ...byName,
    ...(adapterOpen && otherAtAdapterRate
      ? [compare(`${adapterOpen.name.split(' (')[0]} (same rate)`, adapterOpen, otherAtAdapterRate)]
      : []),
  ]
}

function compare(name, phase, other) {
  return {
    phase: name,
    throughput: phase.loginsPerSecond / other.loginsPerSecond,
    p99: phase.latencyMs.login.p99 / other.latencyMs.login.p99,
  }
}

export function buildChecks(adapter, floor) {
  const open = adapter.phases.find((p) => p.name.startsWith('open'))
  // Half the best closed-loop rate unless BENCH_OPEN_RATE fixed another.
  const openShare = open ? Math.round((adapter.ownOpenRate / adapter.maxLoginsPerSecond) * 100) : 50
  const openLoad = open?.name.endsWith('(fixed)')
    ? `${adapter.ownOpenRate}/s (${openShare}% of best)`
    : `${openShare}% load`
  const ownHopP99 = open ? Math.max(open.latencyMs.auth.p99, open.latencyMs.redirectOwn.p99) : null
  const rss = adapter.rssMb
  const growth = rss.afterTotal != null ? rss.afterTotal / rss.afterFirst - 1 : null
  const throughputRatio = floor ? adapter.maxLoginsPerSecond / floor.maxLoginsPerSecond : null

  return [
    {
      name: 'throughput vs floor',
      goal: `≥ ${goals.floorRatio * 100}% of floor`,
      measured: throughputRatio == null ? '–' : `${Math.round(throughputRatio * 100)}%`,
      met: throughputRatio == null ? null : throughputRatio >= goals.floorRatio,
    },
    {
      name: 'logins/s on one core',
      goal: `≥ ${goals.loginsPerSecond}`,
      measured: fmt(adapter.maxLoginsPerSecond, 0),
      met: adapter.maxLoginsPerSecond >= goals.loginsPerSecond,
    },
    {
      name: `adapter's own p99 per hop at ${openLoad}`,
      goal: `≤ ${goals.ownHopP99Ms} ms`,
      measured: open
        ? `auth ${fmt(open.latencyMs.auth.p99, 2)}, redirect ${fmt(open.latencyMs.redirectOwn.p99, 2)}`
        : '–',
      met: ownHopP99 == null ? null : ownHopP99 <= goals.ownHopP99Ms,
    },
    {
      name: 'idle RSS',
      goal: `≤ ${goals.idleRssMb} MB`,
      measured: `${fmt(rss.idle)} MB`,
      met: rss.idle <= goals.idleRssMb,
    },
    {
      name: `RSS after ${rss.totalCount ?? '–'} vs after ${rss.firstCount} logins`,
      goal: `within ${goals.rssGrowth * 100}%`,
      // Without a soak (quick mode, a small BENCH_LOGINS) the second reading comes from a
      // process whose heap is still growing to its working size: no verdict.
      measured:
        growth == null
          ? '–'
          : `${growth >= 0 ? '+' : ''}${fmt(growth * 100)}%${adapter.soak ? '' : ' (no soak)'}`,
      met: growth == null || !adapter.soak ? null : Math.abs(growth) <= goals.rssGrowth,
    },
    {
      name: 'ready after start',
      goal: `≤ ${goals.readyMs} ms`,
      measured: `${adapter.readyMs} ms`,
      met: adapter.readyMs <= goals.readyMs,
    },
  ]
}

function describeRevisions(revisions = {}) {
  const parts = Object.entries(revisions)
    .filter(([, revision]) => revision)
    .map(([name, revision]) => `${name === 'adapter' ? 'Adapter' : 'Baseline'} at ${revision}`)
  return parts.length ? `${parts.join('; ')}. ` : ''
}

/** The whole run as Markdown: one section per target, ratios, and the targets' checks. */
export function buildMarkdown(output) {
  const { machine, settings: s } = output
  const lines = [
    `## Login storm, ${output.startedAt}`,
    '',
    `${machine.nproc} × ${machine.cpuModel}, Node ${machine.node}, Linux ${machine.kernel}. ` +
      describeRevisions(output.revisions) +
      (machine.pinned
        ? 'Target pinned to CPU 0; stub and load generator share CPU 1.'
        : 'Not pinned (no taskset).') +
      ` ID tokens ${s.alg}; ${s.durationS} s per phase${s.quick ? ' (quick mode)' : ''}. ` +
      `Latencies in ms, measured at the client; "redirect own" subtracts the stub's token-endpoint handling time; an open-loop login counts from its scheduled start, each hop from when it was sent (the generator's lateness is the note's start lag). ` +
      `CPU shares are of one core; ⚠ load side marks phases where stub + generator used > 90% of theirs.`,
    '',
  ]
  for (const [name, result] of Object.entries(output.results)) {
    lines.push(buildTargetSection(name, result), '')
  }
  if (output.ratios.length)
    lines.push('### Adapter ÷ floor', '', buildRatioTable(output.ratios), '')
  if (output.baselineRatios?.length)
    lines.push('### Adapter ÷ baseline', '', buildRatioTable(output.baselineRatios, 'baseline'), '')
  if (output.checks.length) lines.push('### Targets', '', buildChecksTable(output.checks), '')
  lines.push(
    `Stub: ${output.stubStats.token} token calls, ${output.stubStats.userinfo} userinfo calls, ${output.stubStats.errors} errors.`,
  )
  return lines.join('\n')
}
