// Files embedded with `import path from '…' with { type: 'file' }`: the import is a path that
// Bun.file() opens, on disk in development and inside the compiled binary.
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  const path: string
  export default path
}
declare module 'swagger-ui-dist/swagger-ui.css' {
  const path: string
  export default path
}
declare module '@jsquash/webp/codec/dec/webp_dec.wasm' {
  const path: string
  export default path
}
declare module '*.css' {
  const path: string
  export default path
}
