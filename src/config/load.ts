import { readFileSync } from 'node:fs'

import { parseIni } from './ini.js'
import { legacyNames, type LegacySetting } from './legacy.js'
import type { ResolvedSetting, SettingSpec, SettingValue } from './schema.js'

/** One thing wrong with the configuration: which setting, and what to do about it. */
export interface ConfigProblem {
  setting: string
  message: string
}

/** Collects every problem so that start-up reports them all at once. */
export class ConfigProblems {
  readonly list: ConfigProblem[] = []
  /** Settings whose value was given but refused: "is required" would only repeat that. */
  readonly #refused = new Set<string>()

  add(setting: string, message: string): void {
    this.list.push({ setting, message })
  }

  refuse(env: string, setting: string, message: string): void {
    this.#refused.add(env)
    this.add(setting, message)
  }

  isRefused(env: string): boolean {
    return this.#refused.has(env)
  }

  /** Reports a missing required setting, unless its given value was already refused. */
  required(env: string, message: string): void {
    if (!this.#refused.has(env)) this.add(env, message)
  }
}

export interface ConfigSources {
  env: NodeJS.ProcessEnv
  /** Text of the INI file given with `--config`, and its path for messages. */
  ini?: { path: string; text: string }
}

export interface LoadedSettings {
  values: ReadonlyMap<string, ResolvedSetting>
  /** Legacy names that were mapped, for the start-up log and `check`. */
  legacy: LegacySetting[]
}

const pythonLogLevels: Record<string, string> = {
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
}

/**
 * Reads every setting of `specs` from the environment (including `*_FILE` for secrets), the
 * legacy environment names, and the INI file, in that order of precedence, and checks each value
 * against its spec. Cross-setting rules are the caller's.
 */
export function loadSettings(
  specs: readonly SettingSpec[],
  sources: ConfigSources,
  problems: ConfigProblems,
): LoadedSettings {
  const values = new Map<string, ResolvedSetting>()
  const iniValues = readIniValues(specs, sources, problems)
  const legacyValues = readLegacyValues(sources.env, problems)

  for (const spec of specs) {
    const raw =
      readEnvValue(spec, sources.env, problems) ??
      legacyValues.values.get(spec.env) ??
      iniValues.get(spec.env) ??
      (spec.default === undefined
        ? undefined
        : { text: spec.default, source: 'default' as const, origin: 'default' })
    if (raw === undefined) continue

    const value = parseValue(spec, raw.text, raw.origin, problems)
    if (value !== undefined) values.set(spec.env, { value, source: raw.source, origin: raw.origin })
  }

  return { values, legacy: legacyValues.mapped }
}

interface RawValue {
  text: string
  source: ResolvedSetting['source']
  origin: string
}

function readEnvValue(
  spec: SettingSpec,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblems,
): RawValue | undefined {
  const direct = env[spec.env]
  const file = spec.secret ? env[`${spec.env}_FILE`] : undefined
  if (nonEmpty(direct) && nonEmpty(file)) {
    problems.add(spec.env, `both "${spec.env}" and "${spec.env}_FILE" are set; keep one`)
  }
  if (nonEmpty(direct)) return { text: direct, source: 'env', origin: spec.env }
  if (nonEmpty(file)) {
    const text = readSecretFile(spec.env, `${spec.env}_FILE`, file, problems)
    return text === undefined ? undefined : { text, source: 'env-file', origin: `${spec.env}_FILE` }
  }
  return undefined
}

function readLegacyValues(env: NodeJS.ProcessEnv, problems: ConfigProblems) {
  const values = new Map<string, RawValue>()
  const mapped: LoadedSettings['legacy'] = []

  for (const legacy of legacyNames) {
    const fileName = `${legacy.name}_FILE`
    const text = nonEmpty(env[legacy.name])
      ? env[legacy.name]
      : legacy.secret && nonEmpty(env[fileName])
        ? readSecretFile(legacy.target ?? legacy.name, fileName, env[fileName], problems)
        : undefined
    if (text === undefined) continue

    const converted = legacy.convert ? legacy.convert(text.trim()) : text
    const used = legacy.target !== undefined && converted !== undefined
    // The current name, set too, wins: the legacy one is then read as nothing.
    const overridden =
      used && (nonEmpty(env[legacy.target!]) || nonEmpty(env[`${legacy.target!}_FILE`]))
    mapped.push({
      name: nonEmpty(env[legacy.name]) ? legacy.name : fileName,
      from: legacy.from,
      ...(used ? { target: legacy.target } : {}),
      ...(overridden ? { overridden: true } : {}),
      ...(legacy.note ? { note: legacy.note } : {}),
    })
    if (used && !values.has(legacy.target!)) {
      values.set(legacy.target!, { text: converted, source: 'legacy', origin: legacy.name })
    }
  }

  return { values, mapped }
}

function readIniValues(
  specs: readonly SettingSpec[],
  sources: ConfigSources,
  problems: ConfigProblems,
): Map<string, RawValue> {
  const values = new Map<string, RawValue>()
  if (!sources.ini) return values

  const { path, text } = sources.ini
  const parsed = parseIni(text)
  for (const error of parsed.errors) problems.add(path, error)

  const byKey = new Map(specs.map((spec) => [`${spec.ini[0]}.${spec.ini[1]}`, spec]))
  const collected = new Map<string, string[]>()
  for (const entry of parsed.entries) {
    // A section whose spec key is `*` (free-form rules such as `[rooms]`) collects its lines
    // as `key = value` items of one list setting.
    const sectionSpec = byKey.get(`${entry.section}.*`)
    if (sectionSpec) {
      const items = collected.get(sectionSpec.env) ?? []
      items.push(`${entry.key} = ${entry.value}`)
      collected.set(sectionSpec.env, items)
      values.set(sectionSpec.env, {
        text: items.join('\n'),
        source: 'ini',
        origin: `[${entry.section}]`,
      })
      continue
    }

    const name = `${entry.section}.${entry.key}`
    const fileSpec = entry.key.endsWith('_file')
      ? byKey.get(name.slice(0, -'_file'.length))
      : undefined
    const spec = byKey.get(name) ?? (fileSpec?.secret ? fileSpec : undefined)
    if (!spec) {
      problems.add(
        `[${entry.section}] ${entry.key}`,
        `unknown setting in ${path} line ${entry.line}; see docs/configuration.md for the keys of each section`,
      )
      continue
    }
    if (entry.value === '') continue
    if (values.has(spec.env)) {
      problems.refuse(
        spec.env,
        `[${entry.section}] ${entry.key}`,
        `${spec.ini[1]} is given twice in ${path} (as a value and as a _file, or repeated); keep one`,
      )
      continue
    }

    const text =
      spec === fileSpec ? readSecretFile(spec.env, name, entry.value, problems) : entry.value
    if (text !== undefined)
      values.set(spec.env, { text, source: 'ini', origin: `[${name.replace('.', '] ')}` })
  }

  return values
}

function readSecretFile(
  env: string,
  setting: string,
  path: string | undefined,
  problems: ConfigProblems,
): string | undefined {
  try {
    // A trailing newline is what `echo secret > file` leaves; it is not part of the secret.
    const text = readFileSync(path!, 'utf8').replace(/\r?\n$/, '')
    if (text === '') problems.refuse(env, setting, `the file "${path}" is empty`)
    return text === '' ? undefined : text
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    problems.refuse(
      env,
      setting,
      `cannot read the file "${path}" (${reason}); check the path and its permissions`,
    )
    return undefined
  }
}

/** Shows a URL in a message without the credentials it may carry. */
export function maskUrlCredentials(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@')
}

function parseValue(
  spec: SettingSpec,
  text: string,
  origin: string,
  problems: ConfigProblems,
): SettingValue | undefined {
  const value = text.trim()
  const shown = spec.secret
    ? `a value of ${value.length} characters`
    : `"${spec.type === 'url' ? maskUrlCredentials(value) : value}"`
  const fail = (rule: string): undefined => {
    problems.refuse(spec.env, origin === 'default' ? spec.env : origin, `${rule}, got ${shown}`)
    return undefined
  }

  switch (spec.type) {
    case 'string':
      return value === '' ? undefined : value
    case 'url':
      return URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)
        ? value
        : fail('must be an absolute http(s) URL ("https://…")')
    case 'integer': {
      const number = /^-?\d+$/.test(value) ? Number(value) : Number.NaN
      if (!Number.isSafeInteger(number)) return fail('must be a whole number')
      if (spec.min !== undefined && number < spec.min) return fail(`must be at least ${spec.min}`)
      if (spec.max !== undefined && number > spec.max) return fail(`must be at most ${spec.max}`)
      return number
    }
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(value)) return true
      if (/^(false|0|no|off)$/i.test(value)) return false
      return fail('must be true or false')
    case 'enum': {
      const lower = value.toLowerCase()
      const normalised = spec.env === 'LOG_LEVEL' ? (pythonLogLevels[lower] ?? lower) : value
      const match = spec.values?.find(
        (allowed) => allowed.toLowerCase() === normalised.toLowerCase(),
      )
      return match ?? fail(`must be one of ${spec.values?.join(', ')}`)
    }
    case 'list':
      return spec.ini[1] === '*'
        ? value
            .split(/[\n;]+/)
            .map((item) => item.trim())
            .filter((item) => item !== '')
        : value.split(/[\s,]+/).filter((item) => item !== '')
  }
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== ''
}
