// Latency recording and summaries shared by the load generator and the report.

/**
 * Collects per-login samples in milliseconds; `codes` pairs redirect samples with the stub,
 * `startLag` is how late the open loop launched each login (the generator's own delay).
 */
export function buildRecorder() {
  return {
    login: [],
    auth: [],
    authorize: [],
    redirect: [],
    codes: [],
    startLag: [],
    rssCurve: [],
    errors: 0,
    errorKinds: {},
  }
}

export function recordError(recorder, error) {
  const kind = String(error?.message ?? error).slice(0, 120)
  recorder.errors += 1
  recorder.errorKinds[kind] = (recorder.errorKinds[kind] ?? 0) + 1
}

/** Nearest-rank percentiles of a sample list, in the sample's unit (ms), 3 decimals. */
export function summarizeLatency(samples) {
  if (samples.length === 0) return { count: 0, p50: null, p90: null, p99: null, max: null }

  const sorted = Float64Array.from(samples).sort()
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
  const round = (value) => Math.round(value * 1000) / 1000
  return {
    count: sorted.length,
    p50: round(pick(0.5)),
    p90: round(pick(0.9)),
    p99: round(pick(0.99)),
    max: round(sorted[sorted.length - 1]),
  }
}

/**
 * Subtracts the stub's own token-endpoint handling time (microseconds, keyed by code) from
 * each redirect-hop sample: what is left is the adapter's own time for that hop, including
 * its loopback round trip to the token endpoint.
 */
export function buildOwnRedirectSamples(recorder, tokenTimes) {
  const own = []
  for (let i = 0; i < recorder.redirect.length; i += 1) {
    const micros = tokenTimes.get(recorder.codes[i])
    if (micros !== undefined) own.push(recorder.redirect[i] - micros / 1000)
  }
  return own
}
