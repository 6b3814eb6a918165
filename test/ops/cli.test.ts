import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'

import { mainJs, repoRoot } from './support.js'

const run = promisify(execFile)
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  version: string
  bin: Record<string, string>
}

async function runCli(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [mainJs, ...args])
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

describe('command line', () => {
  it('prints the package version with --version', async () => {
    const result = await runCli(['--version'])
    assert.deepEqual(result, { code: 0, stdout: `${packageJson.version}\n`, stderr: '' })
  })

  it('lists the serve, check and demo subcommands with --help', async () => {
    const result = await runCli(['--help'])
    assert.equal(result.code, 0)
    assert.match(result.stdout, /^Usage: jitsi-oidc-adapter \[command\] \[--config FILE\]/)
    for (const command of ['serve', 'check', 'demo']) {
      assert.match(result.stdout, new RegExp(`^  ${command} +\\S`, 'm'), command)
    }
    assert.match(result.stdout, /--config FILE/)
    assert.match(result.stdout, /--version/)
  })

  it('refuses an unknown command with exit code 2 and the usage', async () => {
    const result = await runCli(['frobnicate'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /unknown command "frobnicate"/)
    assert.match(result.stderr, /Usage: jitsi-oidc-adapter/)
  })

  it('starts the bin with a node shebang', () => {
    assert.equal(packageJson.bin['jitsi-oidc-adapter'], 'dist/src/cli/main.js')
    const firstLine = readFileSync(join(repoRoot, 'dist/src/cli/main.js'), 'utf8').split('\n')[0]
    assert.equal(firstLine, '#!/usr/bin/env node')
  })
})

describe('npm package', () => {
  let dir: string
  let files: string[]

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adapter-pack-'))
    const { stdout } = await run('npm', ['pack', '--json', '--silent', '--pack-destination', dir], {
      cwd: repoRoot,
      maxBuffer: 16 * 1024 * 1024,
    })
    const [packed] = JSON.parse(stdout) as Array<{
      filename: string
      files: Array<{ path: string }>
    }>
    files = packed!.files.map((file) => file.path)

    writeFileSync(join(dir, 'package.json'), '{"name":"pack-test","private":true}\n')
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, packed!.filename)],
      { cwd: dir, maxBuffer: 16 * 1024 * 1024 },
    )
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('ships the compiled CLI, the deploy files and the docs, but no tests or sources', () => {
    for (const path of [
      'package.json',
      'dist/src/cli/main.js',
      'docs/configuration.md',
      'deploy/systemd/jitsi-oidc-adapter.service',
    ])
      assert.ok(files.includes(path), `${path} is missing from the package`)
    for (const file of files) assert.doesNotMatch(file, /^(dist\/test|src|test|bench|demo)\//)
  })

  it('installs a runnable, executable jitsi-oidc-adapter that npx finds', async () => {
    const installed = join(dir, 'node_modules/jitsi-oidc-adapter/dist/src/cli/main.js')
    assert.ok(statSync(installed).mode & 0o111, 'the installed bin is not executable')

    const version = await run('npx', ['--no-install', 'jitsi-oidc-adapter', '--version'], {
      cwd: dir,
    })
    assert.equal(version.stdout, `${packageJson.version}\n`)
    const help = await run('npx', ['--no-install', 'jitsi-oidc-adapter', '--help'], { cwd: dir })
    assert.match(help.stdout, /^ {2}check +\S/m)
  })
})
