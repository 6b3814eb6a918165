import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'

import { allSettings } from '../../src/config/index.js'
import { repoRoot } from './support.js'

const run = promisify(execFile)

describe('configuration reference', () => {
  it('docs/configuration.md is what the settings schema generates', async () => {
    const { stdout } = await run(
      process.execPath,
      ['scripts/generate-config-docs.mjs', '--stdout'],
      {
        cwd: repoRoot,
      },
    )
    const committed = readFileSync(join(repoRoot, 'docs/configuration.md'), 'utf8')
    assert.ok(
      committed === stdout,
      'docs/configuration.md is out of date with src/config/settings: run `npm run docs:config` and commit the result',
    )
  })

  it('lists every setting with its env name and INI key, and every secret with its _FILE form', () => {
    const docs = readFileSync(join(repoRoot, 'docs/configuration.md'), 'utf8')
    for (const spec of allSettings) {
      assert.ok(docs.includes(`| \`${spec.env}\``), spec.env)
      if (spec.ini[1] !== '*')
        assert.ok(docs.includes(`\`[${spec.ini[0]}] ${spec.ini[1]}\``), spec.env)
      if (spec.secret) assert.ok(docs.includes(`\`${spec.env}_FILE\``), spec.env)
    }
  })
})
