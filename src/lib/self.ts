/**
 * How this program is invoked here, for messages that tell the operator what to run: the compiled
 * binary (`custodian`), or the source through Bun (`bun src/index.ts`).
 */
export const SELF = Bun.main.startsWith('/$bunfs/') ? 'custodian' : 'bun src/index.ts'
