/** One `key = value` line of an INI file, with where it was found for error messages. */
export interface IniEntry {
  section: string
  key: string
  value: string
  line: number
}

/**
 * Parses the INI dialect of the Python jitsi-OIDC-adapter's `app.conf`: `[section]` headers,
 * `key = value` or `key: value`, whole-line comments with `#` or `;`, and comments after a
 * value when the `#`/`;` follows white space (its documented sample writes them that way).
 * Section and key names are case-insensitive, as Python's configparser treats keys.
 */
export function parseIni(text: string): { entries: IniEntry[]; errors: string[] } {
  const entries: IniEntry[] = []
  const errors: string[] = []
  let section = ''

  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1
    const trimmed = raw.trim()
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return

    const header = /^\[([^\]]+)\]$/.exec(trimmed)
    if (header) {
      section = header[1]!.trim().toLowerCase()
      return
    }

    const separator = trimmed.search(/[=:]/)
    if (separator <= 0) {
      errors.push(`line ${line}: expected "key = value" or "[section]"`)
      return
    }
    if (section === '') {
      errors.push(`line ${line}: "${trimmed.slice(0, separator).trim()}" is outside any [section]`)
      return
    }

    const key = trimmed.slice(0, separator).trim().toLowerCase()
    const value = stripInlineComment(trimmed.slice(separator + 1)).trim()
    entries.push({ section, key, value, line })
  })

  return { entries, errors }
}

function stripInlineComment(value: string): string {
  const match = /\s[#;]/.exec(value)
  return match ? value.slice(0, match.index) : value
}
