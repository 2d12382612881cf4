// The rooms of src/ and the one direction their imports run: the commands, then what they show
// (output/), then the use cases (leadership/), then the concepts they combine, then etcd; the
// contract (exit codes) below them all. A room knows nothing of a room above it: the election
// protocol nothing of terminals, the supervisor nothing of etcd keys.
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import ts from 'typescript'
import {describe, expect, it} from 'vitest'

const src = new URL('../../src/', import.meta.url).pathname

/** Each room, and the rooms it may import from. */
const MAY_IMPORT: Record<string, string[]> = {
  commands: ['output', 'cli', 'report', 'leadership', 'election', 'jobs', 'lease', 'attach', 'health', 'systemd', 'etcd', 'time'],
  // What a command shows of a use case's result: lines, JSON, systemd's status, the exit status.
  output: ['cli', 'report', 'leadership', 'election', 'jobs', 'systemd', 'time'],
  cli: ['election', 'jobs', 'lease', 'etcd', 'time'],
  leadership: ['election', 'jobs', 'lease', 'supervise', 'attach', 'health', 'etcd', 'time'],
  jobs: ['election', 'lease', 'etcd', 'time'],
  election: ['lease', 'etcd', 'time'],
  lease: ['etcd', 'time'],
  supervise: ['time'],
  // What a run reports beyond its exit status: the metrics file, the hooks.
  report: ['jobs', 'supervise', 'time'],
  health: ['supervise', 'time'],
  systemd: ['time'],
  attach: ['time'],
  etcd: ['time'],
  time: [],
  contract: [],
}
/** The contract (exit codes, the errors that carry them) is the ground floor: any room may name it (a lost run's record says 75). */
const ANY_ROOM_MAY_IMPORT = ['contract']
/** The entry points the build bundles, which put the rooms together. */
const ENTRY_POINTS = ['main.ts', 'sea.ts', 'lean.ts', 'lean-run.ts']

function sourceFiles(dir = src): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )
}

/**
 * The files of src/ that `file` imports, in every form: TypeScript's own pre-processor sees a
 * side-effect import, a type import, a re-export and a dynamic import() alike.
 */
function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((imported) => imported.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => relative(src, join(dirname(file), name.replace(/\.js$/, '.ts'))))
    .filter((path) => !path.startsWith('..'))
}

const roomOf = (path: string) => (path.includes('/') ? path.split('/')[0] : path)

describe('the layout', () => {
  const files = sourceFiles().map((file) => relative(src, file))

  it('puts every source file in a room the rule knows, or is an entry point', () => {
    expect(files.filter((path) => !ENTRY_POINTS.includes(path) && !(roomOf(path) in MAY_IMPORT))).toEqual([])
  })

  it('runs every import one way: a room imports only from the rooms below it', () => {
    const wrongWay = files
      .filter((path) => !ENTRY_POINTS.includes(path))
      .flatMap((path) =>
        importsOf(join(src, path))
          .filter((target) => roomOf(target) !== roomOf(path) && !ANY_ROOM_MAY_IMPORT.includes(roomOf(target)))
          .filter((target) => !MAY_IMPORT[roomOf(path)].includes(roomOf(target)))
          .map((target) => `${path} -> ${target}`),
      )
    expect(wrongWay).toEqual([])
  })

  it('sees the imports it judges (the rule cannot pass by reading nothing)', () => {
    expect(importsOf(join(src, 'commands/run-if-leader.ts'))).toContain('leadership/run-if-leader.ts')
    expect(importsOf(join(src, 'election/election.ts'))).toContain('election/keys.ts')
  })

  it('sees every form an import takes: for a side effect, of a type, a re-export, a dynamic import()', () => {
    const text = [
      "import '../commands/campaign.js'",
      "import type {Outcome} from '../supervise/supervisor.js'",
      "export {onceSlot} from '../jobs/once-per.js'",
      "export * from '../attach/attachment.js'",
      "const later = await import('../cli/help.js')",
    ].join('\n')
    expect(importsOf(join(src, 'election/election.ts'), text)).toEqual([
      'commands/campaign.ts',
      'supervise/supervisor.ts',
      'jobs/once-per.ts',
      'attach/attachment.ts',
      'cli/help.ts',
    ])
  })
})
