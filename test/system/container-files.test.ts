import { describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

// The image and Compose files as engines other than Docker read them: podman resolves short
// image names against its own registries (and fails offline or where Docker Hub is not first),
// and a Compose stack must not start Custodian before PostgreSQL and Redis answer.
const ROOT = join(import.meta.dir, '../..')

describe('Dockerfile and compose.yaml', () => {
  it('names every base image fully (registry host included)', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    const bases = [...dockerfile.matchAll(/^ARG (\w+_BASE)=(\S+)$/gm)].map(([, name, image]) => ({
      name,
      image,
    }))
    expect(bases.length).toBeGreaterThanOrEqual(2)
    for (const { name, image } of bases)
      expect({ name, registry: (image as string).split('/')[0] }).toEqual({ name, registry: 'docker.io' })
  })

  it('gives PostgreSQL and Redis healthchecks and starts Custodian once they pass', () => {
    const compose = Bun.YAML.parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as {
      services: Record<string, { image?: string; healthcheck?: { test: string[] }; depends_on?: unknown }>
    }
    for (const name of ['postgres', 'redis']) {
      const service = compose.services[name]
      expect(service?.healthcheck?.test[0]).toBe('CMD')
      expect(service?.image).toMatch(/^\$\{\w+:-docker\.io\//)
    }
    const instances = Object.entries(compose.services).filter(([name]) => name.startsWith('custodian-'))
    expect(instances.length).toBe(3)
    for (const [name, service] of instances)
      expect({ name, depends_on: service.depends_on }).toEqual({
        name,
        depends_on: { postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } },
      })
  })
})
