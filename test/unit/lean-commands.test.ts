// Which bundle starts which command is written in three places that cannot import one another: the
// lean entries (src/lean.ts, src/lean-run.ts), bin/run.cjs and the single executable's main script.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {LEAN_COMMANDS as ONE_SHOT} from '../../src/lean.js'
import {LEAN_COMMANDS as RUN} from '../../src/lean-run.js'
import {projectRoot} from '../harness/processes.js'

/** The LEAN_BUNDLES object a loader writes: command to bundle file. */
const chosenIn = (file: string) => {
  const entries = /const LEAN_BUNDLES = \{([^}]*)\}/.exec(readFileSync(join(projectRoot, file), 'utf8'))?.[1] ?? ''
  return Object.fromEntries([...entries.matchAll(/'?([\w-]+)'?: '([\w.-]+)'/g)].map(([, command, bundle]) => [command, bundle]))
}

describe('the lean start-ups', () => {
  it('start the commands their entries run, in the npm install and in the single executable', () => {
    const chosen = {
      '--version': 'lean.cjs',
      ...Object.fromEntries(Object.keys(ONE_SHOT).map((command) => [command, 'lean.cjs'])),
      ...Object.fromEntries(Object.keys(RUN).map((command) => [command, 'lean-run.cjs'])),
    }
    expect(chosenIn('bin/run.cjs')).toEqual(chosen)
    expect(chosenIn('test/build/sea-main.cjs')).toEqual(chosen)
  })
})
