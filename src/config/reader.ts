import type { ResolvedSetting, SettingValue } from './schema.js'

/** Typed access to the loaded values for the builders of each group. */
export class SettingReader {
  constructor(private readonly values: ReadonlyMap<string, ResolvedSetting>) {}

  has(env: string): boolean {
    return this.values.has(env)
  }

  value(env: string): SettingValue | undefined {
    return this.values.get(env)?.value
  }

  string(env: string): string | undefined {
    const value = this.value(env)
    return typeof value === 'string' ? value : undefined
  }

  integer(env: string): number {
    return this.value(env) as number
  }

  boolean(env: string): boolean {
    return this.value(env) === true
  }

  list(env: string): readonly string[] {
    const value = this.value(env)
    return Array.isArray(value) ? value : []
  }

  /** The name the admin used for this setting, for messages; its own name when not set. */
  origin(env: string): string {
    const resolved = this.values.get(env)
    return resolved === undefined || resolved.source === 'default' ? env : resolved.origin
  }

  /** True when the setting has its default value because nobody set it. */
  isDefault(env: string): boolean {
    return this.values.get(env)?.source === 'default'
  }
}

/** `{ [key]: value }` when the value is defined, `{}` otherwise: for optional config fields. */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}
