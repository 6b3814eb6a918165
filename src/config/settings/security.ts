import type { SettingReader } from '../index.js'
import { defineSettings } from '../schema.js'

/** Limits on what one client may ask of the login routes. */
export const securitySettings = defineSettings([
  {
    env: 'RATE_LIMIT_PER_MINUTE',
    ini: ['security', 'rate_limit_per_minute'],
    type: 'integer',
    group: 'security',
    default: '0',
    min: 0,
    max: 100000,
    description:
      'Requests per minute one client address may make to `/oidc/auth` and the callback; more get a 429 page. 0 turns it off (the default: nginx or the provider usually limit already). Behind a proxy the address comes from `X-Forwarded-For` only when `TRUST_PROXY` trusts that proxy.',
  },
  {
    env: 'RATE_LIMIT_MAX_CLIENTS',
    ini: ['security', 'rate_limit_max_clients'],
    type: 'integer',
    group: 'security',
    default: '10000',
    min: 100,
    max: 1000000,
    description:
      'Client addresses the rate limiter remembers at once, which bounds its memory; past this the oldest are forgotten first.',
  },
  {
    env: 'HTTP_MAX_URL_LENGTH',
    ini: ['security', 'max_url_length'],
    type: 'integer',
    group: 'security',
    default: '8192',
    min: 1024,
    max: 16384,
    description:
      "Longest request URL accepted, in characters; longer ones get a 414 page. Jitsi's state with many config overrides stays well under 8 KB. Headers over Node's 16 KB limit get a 431.",
  },
])

export interface SecurityConfig {
  /** 0 when rate limiting is off. */
  rateLimitPerMinute: number
  rateLimitMaxClients: number
  maxUrlLength: number
}

/** The security block of `Config`; the schema has already checked each value. */
export function buildSecurityConfig(read: SettingReader): SecurityConfig {
  return {
    rateLimitPerMinute: read.integer('RATE_LIMIT_PER_MINUTE'),
    rateLimitMaxClients: read.integer('RATE_LIMIT_MAX_CLIENTS'),
    maxUrlLength: read.integer('HTTP_MAX_URL_LENGTH'),
  }
}
