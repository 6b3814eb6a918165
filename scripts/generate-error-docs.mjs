#!/usr/bin/env node
// Writes docs/errors.md from the error catalogue in src/errors.ts (run after "npm run build").
import { writeFileSync } from 'node:fs'

const { errorCatalogue } = await import('../dist/src/errors.js')

const rows = Object.entries(errorCatalogue).map(
  ([code, { status, message }]) => `| \`${code}\` | ${status} | ${message} |`,
)

writeFileSync(
  new URL('../docs/errors.md', import.meta.url),
  `# Error codes

Every error the adapter shows has a stable code: on the error page, in the JSON body
(\`{"error": {"code", "message", "requestId", "links"}}\` when the client asks for JSON), and in
the log line (\`code\`). Codes are never renamed or reused, so alerts and scripts can rely on them.
The user sees the sentence below; the log line adds the cause for the admin. A 5xx status means
the identity provider failed (502, 503, 504), or a bug of ours (500).

Generated from \`src/errors.ts\` by \`npm run docs:errors\`.

| code | HTTP status | what the user reads |
|---|---|---|
${rows.join('\n')}
`,
)
