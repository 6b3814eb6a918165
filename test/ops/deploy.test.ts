import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'

import { validate } from 'dockerfile-utils'
import { parse, parseAllDocuments } from 'yaml'

import { isKnownEnvName, repoRoot } from './support.js'

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8')

describe('container image definition', () => {
  const dockerfile = read('deploy/container/Dockerfile')
  const stages = dockerfile.split(/^FROM /m).slice(1)
  const finalStage = stages.at(-1)!

  it('passes the Dockerfile linter without a diagnostic', () => {
    assert.deepEqual(
      validate(dockerfile).map((diagnostic) => diagnostic.message),
      [],
    )
  })

  it('is multi-stage, and the image runs as a non-root user with a health check', () => {
    assert.ok(stages.length >= 2)
    const users = [...finalStage.matchAll(/^USER (\S+)$/gm)].map((match) => match[1])
    assert.deepEqual(users, ['node'])
    assert.match(finalStage, /^HEALTHCHECK .*\n? *CMD .*\/oidc\/health/m)
    assert.match(finalStage, /^ENTRYPOINT \["node", "dist\/src\/cli\/main\.js"\]$/m)
  })

  it('installs no dev dependencies into the image', () => {
    const installs = [...dockerfile.matchAll(/^RUN npm ci(.*)$/gm)].map((match) => match[1]!)
    const copiedModules = /^COPY --from=(\S+) \/app\/node_modules/m.exec(finalStage)?.[1]
    const source = stages.find((stage) => stage.includes(` AS ${copiedModules}`))
    assert.ok(source, 'node_modules come from a named stage')
    assert.match(source, /^RUN npm ci --omit=dev /m)
    assert.ok(installs.some((flags) => flags.includes('--omit=dev')))
    assert.doesNotMatch(finalStage, /^RUN npm (ci|install)/m)
  })

  it('joins docker-jitsi-meet on meet.jitsi with the values of its .env', () => {
    const compose = parse(read('deploy/container/jitsi-oidc-adapter.yml')) as {
      services: Record<
        string,
        { environment: string[]; networks: Record<string, { aliases: string[] }> }
      >
    }
    const service = compose.services['jitsi-oidc-adapter']!
    assert.deepEqual(service.networks['meet.jitsi']!.aliases, ['jitsi-oidc-adapter'])
    const env = Object.fromEntries(service.environment.map((line) => line.split(/=(.*)/s)))
    assert.equal(env['JITSI_BASE_URL'], '${PUBLIC_URL}')
    assert.equal(env['JWT_APP_ID'], '${JWT_APP_ID}')
    assert.equal(env['JWT_APP_SECRET'], '${JWT_APP_SECRET}')
    assert.equal(env['PORT'], '8000')
    for (const name of Object.keys(env)) assert.ok(isKnownEnvName(name), `unknown setting ${name}`)
    // The Jitsi side's nginx snippet forwards to this name and port.
    assert.match(read('jitsi/docker/custom-meet.conf'), /http:\/\/jitsi-oidc-adapter:8000/)
  })
})

interface Container {
  ports: Array<{ name: string; containerPort: number }>
  env: Array<{ name: string; value: string }>
  envFrom: Array<{ configMapRef: { name: string } }>
  volumeMounts: Array<{ name: string; mountPath: string }>
  livenessProbe: { httpGet: { path: string; port: string } }
  readinessProbe: { httpGet: { path: string; port: string } }
  resources: { requests: { cpu: string; memory: string }; limits: { memory: string } }
}

describe('Kubernetes manifests', () => {
  const dir = 'deploy/kubernetes'
  const files = readdirSync(join(repoRoot, dir)).filter((name) => name.endsWith('.yaml'))
  const documents = files.flatMap((file) =>
    parseAllDocuments(read(`${dir}/${file}`)).map((document) => {
      assert.deepEqual(document.errors, [], file)
      return { file, ...(document.toJS() as { kind: string; metadata: { name: string } }) }
    }),
  )
  const byKind = (kind: string) => {
    const found = documents.filter((document) => document.kind === kind)
    assert.equal(found.length, 1, kind)
    return found[0] as unknown as Record<string, any>
  }
  const deployment = byKind('Deployment')
  const service = byKind('Service')
  const configMap = byKind('ConfigMap')
  const budget = byKind('PodDisruptionBudget')
  const secret = byKind('Secret')
  const pod = deployment['spec']['template']
  const container = pod['spec']['containers'][0] as Container
  const labels = pod['metadata']['labels']

  it('applies every manifest but the example Secret through kustomization.yaml', () => {
    const kustomization = parse(read(`${dir}/kustomization.yaml`)) as { resources: string[] }
    const expected = files.filter((f) => f !== 'kustomization.yaml' && f !== 'secret.example.yaml')
    assert.deepEqual([...kustomization.resources].sort(), expected.sort())
  })

  it('runs two replicas behind a Service and a PodDisruptionBudget that select them', () => {
    assert.equal(deployment['spec']['replicas'], 2)
    assert.deepEqual(deployment['spec']['selector']['matchLabels'], labels)
    assert.deepEqual(service['spec']['selector'], labels)
    assert.deepEqual(budget['spec']['selector']['matchLabels'], labels)
    assert.equal(budget['spec']['minAvailable'], 1)
  })

  it('wires the ports: ConfigMap, container and Service agree', () => {
    const ports = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]))
    assert.deepEqual(ports, {
      http: Number(configMap['data']['PORT']),
      metrics: Number(configMap['data']['METRICS_PORT']),
    })
    const servicePorts = service['spec']['ports'] as Array<{ name: string; targetPort: string }>
    assert.deepEqual(
      servicePorts.map((p) => [p.name, p.targetPort]),
      [
        ['http', 'http'],
        ['metrics', 'metrics'],
      ],
    )
    assert.equal(configMap['data']['HOST'], '0.0.0.0')
    assert.equal(
      pod['metadata']['annotations']['prometheus.io/port'],
      configMap['data']['METRICS_PORT'],
    )
  })

  it('probes liveness on /oidc/health and readiness on /oidc/ready', () => {
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/oidc/health', port: 'http' })
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/oidc/ready', port: 'http' })
  })

  it('sets only real settings, and reads secrets from the Secret through *_FILE', () => {
    assert.equal(container.envFrom[0]!.configMapRef.name, configMap['metadata']['name'])
    for (const name of Object.keys(configMap['data'])) assert.ok(isKnownEnvName(name), name)
    const mount = container.volumeMounts.find((m) => m.name === 'secrets')!
    const volume = (pod['spec']['volumes'] as Array<Record<string, any>>).find(
      (v) => v['name'] === 'secrets',
    )!
    assert.equal(volume['secret']['secretName'], secret['metadata']['name'])
    const keys = (volume['secret']['items'] as Array<{ path: string }>).map((item) => item.path)
    for (const { name, value } of container.env) {
      assert.ok(isKnownEnvName(name) && name.endsWith('_FILE'), name)
      assert.ok(
        keys.some((key) => value === `${mount.mountPath}/${key}`),
        `${name}=${value}`,
      )
    }
    assert.deepEqual(Object.keys(secret['stringData']).sort(), [...keys].sort())
  })

  it('requests resources and runs as non-root on a read-only root filesystem', () => {
    assert.deepEqual(container.resources, {
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '384Mi' },
    })
    assert.equal(pod['spec']['securityContext']['runAsNonRoot'], true)
    const containerSecurity = (pod['spec']['containers'][0] as Record<string, any>)[
      'securityContext'
    ]
    assert.equal(containerSecurity['readOnlyRootFilesystem'], true)
    assert.equal(containerSecurity['allowPrivilegeEscalation'], false)
  })
})
