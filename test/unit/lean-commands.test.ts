// The one-shot commands the lean start-up runs are named in three places that cannot import one
// another: src/lean.ts, bin/run.cjs and the single executable's main script.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {LEAN_COMMANDS} from '../../src/lean.js'
import {projectRoot} from '../harness/processes.js'

const namedIn = (file: string) => {
  const list = /const LEAN_COMMANDS = new Set\(\[([^\]]*)\]\)/.exec(readFileSync(join(projectRoot, file), 'utf8'))?.[1]
  return list?.split(',').map((name) => name.trim().replace(/^'|'$/g, ''))
}

describe('the lean start-up', () => {
  it('is chosen for the commands src/lean.ts runs, by the npm install and by the single executable', () => {
    const commands = ['--version', ...Object.keys(LEAN_COMMANDS)].sort()
    expect(namedIn('bin/run.cjs')?.sort()).toEqual(commands)
    expect(namedIn('test/build/sea-main.cjs')?.sort()).toEqual(commands)
  })
})
