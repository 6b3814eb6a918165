import type { SettingReader } from '../index.js'
import type { ConfigProblems } from '../load.js'
import { defineSettings } from '../schema.js'

/** The Prometheus listener: off unless a port is given, loopback unless told otherwise. */
export const metricsSettings = defineSettings([
  {
    env: 'METRICS_PORT',
    ini: ['metrics', 'port'],
    type: 'integer',
    group: 'metrics',
    min: 0,
    max: 65535,
    defaultText: 'off',
    description:
      'Serve Prometheus metrics at `/metrics` on this port, apart from the login listener so nginx never exposes them; 0 picks a free one.',
  },
  {
    env: 'METRICS_HOST',
    ini: ['metrics', 'host'],
    type: 'string',
    group: 'metrics',
    default: '127.0.0.1',
    description:
      'Address of the metrics listener. Loopback by default; in a container or cluster use `0.0.0.0` and let only the scraper reach the port.',
  },
])

export interface MetricsConfig {
  /** Undefined when metrics are off. */
  port?: number
  host: string
}

/** The metrics block of `Config`; the schema has already checked each value. */
export function buildMetricsConfig(read: SettingReader, problems: ConfigProblems): MetricsConfig {
  const port = read.value('METRICS_PORT')
  if (typeof port === 'number' && port !== 0 && port === read.value('PORT')) {
    problems.add(
      read.origin('METRICS_PORT'),
      `must differ from PORT (both are ${port}): metrics get a listener of their own`,
    )
  }
  return {
    host: read.string('METRICS_HOST')!,
    ...(typeof port === 'number' ? { port } : {}),
  }
}
