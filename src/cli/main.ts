#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

import { buildConfig, ConfigError, type Config } from '../config/index.js'
import { createLogger } from '../log.js'
import { startService, type RunningService } from './serve.js'

const usage = `Usage: jitsi-oidc-adapter [command] [--config FILE]

Commands:
  serve   run the service (default)
  check   validate the configuration, reach the provider, mint and check a sample token,
          and print the Jitsi, nginx and Prosody settings that match
  demo    run a local demo: a development identity provider, a stand-in meeting page and
          the adapter, all on 127.0.0.1 (ports 9000, 8080 and 8000; change them with
          DEMO_IDP_PORT, DEMO_MEETING_PORT and DEMO_ADAPTER_PORT)

Options:
  --config FILE   read settings from an INI file (the environment overrides it)
  --version       print the version
  --help          print this help

Every setting is described in docs/configuration.md.`

function readVersion(): string {
  const packageJson = new URL('../../../package.json', import.meta.url)
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version
}

/** Loads the configuration or prints every problem at once and exits 2. */
export function loadConfigOrExit(
  configFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Config {
  try {
    const ini = configFile
      ? { path: configFile, text: readFileSync(configFile, 'utf8') }
      : undefined
    return buildConfig({ env, ...(ini ? { ini } : {}) })
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(
        `jitsi-oidc-adapter: ${error.problems.length} configuration problem(s):\n`,
      )
      for (const problem of error.problems)
        process.stderr.write(`  - ${problem.setting}: ${problem.message}\n`)
      process.stderr.write('See docs/configuration.md for every setting.\n')
    } else {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
      process.stderr.write(`jitsi-oidc-adapter: cannot read --config ${configFile} (${code})\n`)
    }
    process.exit(2)
  }
}

async function serve(configFile: string | undefined): Promise<void> {
  const config = loadConfigOrExit(configFile)
  const { logger, reopen } = await createLogger(config.logging)

  process.on('SIGHUP', () => {
    reopen()
    logger.info({ event: 'log.reopened' }, 'log file reopened')
  })

  // Signals are handled from the start: a SIGTERM while discovery runs must still exit 0.
  let stopping = false
  let starting: Promise<RunningService> | undefined
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ event: 'shutdown', signal }, 'shutting down: finishing requests in flight')
    const deadline = setTimeout(() => {
      logger.warn(
        { event: 'shutdown.timeout' },
        'requests still in flight at the shutdown deadline',
      )
      process.exit(0)
    }, config.server.shutdownTimeoutSeconds * 1000)
    deadline.unref()
    Promise.resolve(starting)
      .then((service) => service?.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))

  starting = startService({ config, logger })
  await starting
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return void process.stdout.write(`${usage}\n`)
  if (values.version) return void process.stdout.write(`${readVersion()}\n`)

  const command = positionals[0] ?? 'serve'
  switch (command) {
    case 'serve':
      return serve(values.config)
    case 'check': {
      const { runCheck } = await import('./check.js')
      process.exitCode = await runCheck(loadConfigOrExit(values.config))
      return
    }
    case 'demo': {
      const { runDemo } = await import('./demo.js')
      return runDemo()
    }
    default:
      process.stderr.write(`jitsi-oidc-adapter: unknown command "${command}"\n\n${usage}\n`)
      process.exit(2)
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`jitsi-oidc-adapter: ${message}\n`)
  process.exit(1)
})
