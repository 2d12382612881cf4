// The rooms of src/ and the one direction their imports run: the commands, then the two use cases
// (leadership/), then the concepts they combine, then etcd. A room knows nothing of a room above it:
// the election protocol nothing of terminals, the supervisor nothing of etcd keys.
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {describe, expect, it} from 'vitest'

const src = new URL('../../src/', import.meta.url).pathname

/** Each room, and the rooms it may import from. */
const MAY_IMPORT: Record<string, string[]> = {
  commands: ['cli', 'leadership', 'election', 'jobs', 'lease', 'attach', 'hooks', 'health', 'systemd', 'etcd', 'time'],
  cli: ['election', 'jobs', 'lease', 'etcd', 'time'],
  leadership: ['election', 'jobs', 'lease', 'supervise', 'attach', 'health', 'etcd', 'time'],
  jobs: ['election', 'lease', 'etcd', 'time'],
  election: ['lease', 'etcd', 'time'],
  lease: ['etcd', 'time'],
  supervise: ['time'],
  hooks: ['supervise', 'time'],
  health: ['supervise', 'time'],
  systemd: ['time'],
  attach: ['time'],
  etcd: ['time'],
  time: [],
}
/** The exit codes are the contract's numbers: any room may name them (a lost run's record says 75). */
const ANY_ROOM_MAY_IMPORT = ['cli/exit-codes.ts']
/** The entry points the build bundles, which put the rooms together. */
const ENTRY_POINTS = ['main.ts', 'sea.ts']

function sourceFiles(dir = src): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )
}

/** The files of src/ that `file` imports (statically, or with a type import). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/g)]
    .map((match) => relative(src, join(dirname(file), match[1].replace(/\.js$/, '.ts'))))
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
          .filter((target) => roomOf(target) !== roomOf(path) && !ANY_ROOM_MAY_IMPORT.includes(target))
          .filter((target) => !MAY_IMPORT[roomOf(path)].includes(roomOf(target)))
          .map((target) => `${path} -> ${target}`),
      )
    expect(wrongWay).toEqual([])
  })

  it('sees the imports it judges (the rule cannot pass by reading nothing)', () => {
    expect(importsOf(join(src, 'commands/run-if-leader.ts'))).toContain('leadership/run-if-leader.ts')
    expect(importsOf(join(src, 'election/election.ts'))).toContain('election/keys.ts')
  })
})
