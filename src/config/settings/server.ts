import { defineSettings } from '../schema.js'

/** The listener, the login cookie and logging. */
export const serverSettings = defineSettings([
  {
    env: 'HOST',
    ini: ['server', 'host'],
    type: 'string',
    group: 'server',
    default: '127.0.0.1',
    description: 'Address to listen on. Loopback by default: nginx in front forwards `/oidc/`.',
  },
  {
    env: 'PORT',
    ini: ['server', 'port'],
    type: 'integer',
    group: 'server',
    default: '8000',
    min: 0,
    max: 65535,
    description:
      "Port to listen on; 0 picks a free one (8000 is what the Python adapter's nginx snippet proxies to).",
  },
  {
    env: 'TRUST_PROXY',
    ini: ['server', 'trust_proxy'],
    type: 'string',
    group: 'server',
    default: 'loopback',
    description:
      'Which proxies may set `X-Forwarded-For`/`-Proto`: `loopback`, `false`, a comma list of addresses and CIDR ranges, or `true` (any client: warned about, weakens rate limiting).',
  },
  {
    env: 'COOKIE_SECRET',
    ini: ['server', 'cookie_secret'],
    type: 'string',
    group: 'server',
    secret: true,
    defaultText: 'derived from `JWT_APP_SECRET`',
    description:
      'Key material for the sealed login cookie (at least 32 characters). Replicas must share it; by default it is derived from the app secret, so they do.',
  },
  {
    env: 'SHUTDOWN_TIMEOUT_SECONDS',
    ini: ['server', 'shutdown_timeout_seconds'],
    type: 'integer',
    group: 'server',
    default: '10',
    min: 0,
    max: 300,
    description: 'On SIGTERM, how long in-flight logins may take before the process exits.',
  },
])

export const loggingSettings = defineSettings([
  {
    env: 'LOG_LEVEL',
    ini: ['logging', 'level'],
    type: 'enum',
    group: 'logging',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    description:
      'Log level. At `info` each login writes one `auth.*` line and only refused or failed requests get an access line; `debug` adds one for every request. The Python names (DEBUG, INFO, WARNING, ERROR, CRITICAL) are accepted. Secrets are never logged at any level.',
  },
  {
    env: 'LOG_FORMAT',
    ini: ['logging', 'format'],
    type: 'enum',
    group: 'logging',
    values: ['auto', 'json', 'pretty'],
    default: 'auto',
    description:
      '`json`: one JSON object per line; `pretty`: a human-readable line; `auto`: pretty when standard output is a terminal and `LOG_FILE` is unset, else JSON.',
  },
  {
    env: 'LOG_FILE',
    ini: ['logging', 'filename'],
    type: 'string',
    group: 'logging',
    defaultText: 'standard output',
    description:
      'Append logs to this file instead; its directory must exist (it is not created: a missing one is reported at start-up). Reopened on SIGHUP so logrotate works.',
  },
  {
    env: 'LOG_FILE_MODE',
    ini: ['logging', 'filemode'],
    type: 'enum',
    group: 'logging',
    values: ['a', 'w'],
    default: 'a',
    description: '`a` appends to `LOG_FILE`, `w` truncates it at start-up.',
  },
])
