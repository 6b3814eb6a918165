#!/usr/bin/env node
// Runs every compiled test file with Node's own runner. Node 20 takes no globs on the command
// line, so the file list is collected here; pass folder names (unit, http, ...) to narrow it.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const root = 'dist/test'
const only = process.argv.slice(2)

function collectTestFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return collectTestFiles(path)
    return name.endsWith('.test.js') ? [path] : []
  })
}

const files = collectTestFiles(root)
  .filter((file) => only.length === 0 || only.some((part) => file.includes(`/${part}/`)))
  .sort()

if (files.length === 0) {
  console.error(`no test files found under ${root}: run "npm run build" first`)
  process.exit(1)
}

const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
})
process.exit(result.status ?? 1)
