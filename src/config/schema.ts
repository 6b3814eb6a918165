/**
 * The shape of a setting. Every setting the adapter reads is one `SettingSpec` in a file under
 * `settings/`; `docs/configuration.md` is generated from these and a test keeps the two equal.
 */
export type SettingType = 'string' | 'url' | 'integer' | 'boolean' | 'enum' | 'list'

export type SettingGroup =
  'oidc' | 'jitsi' | 'token' | 'claims' | 'policy' | 'server' | 'security' | 'logging' | 'metrics'

export interface SettingSpec {
  /** Environment variable name, the setting's canonical name. */
  env: string
  /** Section and key in the INI file given with `--config`. */
  ini: readonly [section: string, key: string]
  type: SettingType
  group: SettingGroup
  /** Allowed values of an `enum`. */
  values?: readonly string[]
  /** The default as text, exactly as it would be written in the environment. */
  default?: string
  /** Shown in the docs where the default is computed from other settings. */
  defaultText?: string
  /** Limits of an `integer`. */
  min?: number
  max?: number
  /** A secret: may also come from `<ENV>_FILE`, and only its length is ever reported. */
  secret?: boolean
  /** One line for the reference: what it does and why the default. */
  description: string
}

/** A parsed value: strings, integers, booleans and lists of strings. */
export type SettingValue = string | number | boolean | readonly string[]

/** Where a value came from, so messages and `check` can point at it. */
export type SettingSource = 'env' | 'env-file' | 'ini' | 'legacy' | 'default'

export interface ResolvedSetting {
  value: SettingValue
  source: SettingSource
  /** The name the admin used: an env name, `section.key`, or a legacy env name. */
  origin: string
}

export function defineSettings<const T extends readonly SettingSpec[]>(specs: T): T {
  return specs
}
