// Preload for running openapi-typescript: it drives the TypeScript 5 compiler API, which the
// project's TypeScript 7 (the native compiler) no longer has. Its `typescript` imports are
// rewritten to the `typescript5` alias package; the project's type checking stays on TypeScript 7.
import { plugin } from 'bun'

const typescript5 = require.resolve('typescript5')

plugin({
  name: 'typescript5-for-openapi-typescript',
  setup(build) {
    build.onLoad({ filter: /openapi-typescript\/dist\/.*\.mjs$/ }, async ({ path }) => ({
      contents: (await Bun.file(path).text()).replace(
        /from ['"]typescript['"]/g,
        `from ${JSON.stringify(typescript5)}`,
      ),
      loader: 'js',
    }))
  },
})
