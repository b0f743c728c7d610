/**
 * Which methods a path answers to, built from the app's mounted routes. Tells a wrong method
 * (405, with `Allow`) from an unknown path (404).
 */
export class RouteIndex {
  private routes: { method: string; path: string; pattern: RegExp }[] = []

  load(routes: readonly { method: string; path: string }[]) {
    this.routes = routes
      .filter((r) => r.method !== 'ALL' && r.method !== 'WS')
      .map((r) => ({ method: r.method, path: r.path, pattern: compile(r.path) }))
  }

  /** The pattern a request would be routed to (for requests answered before routing). */
  patternFor(method: string, path: string): string | undefined {
    const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path
    return this.routes.find((r) => r.method === method && r.pattern.test(trimmed))?.path
  }

  methodsFor(path: string): string[] {
    const methods = new Set<string>()
    const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path
    for (const route of this.routes) if (route.pattern.test(trimmed)) methods.add(route.method)
    if (methods.has('GET')) methods.add('HEAD')
    return [...methods].sort()
  }
}

function compile(path: string): RegExp {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path
  const source = trimmed
    .split('/')
    .map((segment) =>
      segment.startsWith(':')
        ? '[^/]+'
        : segment === '*'
          ? '.*'
          : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/')
  return new RegExp(`^${source}$`)
}
