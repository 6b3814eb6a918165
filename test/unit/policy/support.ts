import { SettingReader } from '../../../src/config/index.js'
import { ConfigProblems, loadSettings } from '../../../src/config/load.js'
import { oidcSettings } from '../../../src/config/settings/oidc.js'
import { buildPolicyConfig, policySettings } from '../../../src/config/settings/policy.js'
import type { PolicyConfig } from '../../../src/policy/types.js'

export interface LoadedPolicy {
  policy: PolicyConfig
  problems: ConfigProblems['list']
  warnings: string[]
}

/** Runs the policy (and OIDC) settings through the real loader, as start-up does. */
export function loadPolicy(env: Record<string, string>, iniText?: string): LoadedPolicy {
  const problems = new ConfigProblems()
  const warnings: string[] = []
  const sources =
    iniText === undefined ? { env } : { env, ini: { path: 'adapter.ini', text: iniText } }
  // The OIDC settings too: the policy warnings read OIDC_SCOPES, with its real default.
  const loaded = loadSettings([...policySettings, ...oidcSettings], sources, problems)
  const policy = buildPolicyConfig(new SettingReader(loaded.values), problems, warnings)
  return { policy, problems: problems.list, warnings }
}

/** A policy from settings that must be valid; throws with the problems otherwise. */
export function buildTestPolicy(env: Record<string, string> = {}): PolicyConfig {
  const { policy, problems } = loadPolicy(env)
  if (problems.length > 0) throw new Error(`unexpected problems: ${JSON.stringify(problems)}`)
  return policy
}
