import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'

import { findMissingTools, findNginx } from './stack.js'

const repo = new URL('../../../', import.meta.url).pathname

it(
  "passes nginx's own check for the docker-jitsi-meet custom-meet.conf inside a server block",
  { skip: findMissingTools() },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jitsi-oidc-nginx-t-'))
    try {
      await writeFile(
        join(dir, 'nginx.conf'),
        `events {}
http {
    server {
        listen 127.0.0.1:8443;
        include ${join(repo, 'jitsi/docker/custom-meet.conf')};
    }
}
`,
      )
      const result = spawnSync(
        findNginx()!,
        [
          '-t',
          '-e',
          join(dir, 'error.log'),
          '-c',
          join(dir, 'nginx.conf'),
          '-p',
          dir,
          '-g',
          `pid ${dir}/nginx.pid;`,
        ],
        { encoding: 'utf8' },
      )
      assert.equal(result.status, 0, result.stderr)
      assert.match(result.stderr, /syntax is ok/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  },
)
