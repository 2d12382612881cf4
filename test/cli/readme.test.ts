// The README's examples must be commands elect accepts: every flag an example uses is one the
// command's real --help lists.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {elect} from '../harness/cli.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const COMMANDS = ['campaign', 'run-if-leader', 'who-leads', 'resign', 'runs', 'pause', 'resume', 'check', 'holds', 'put', 'del', 'txn'] as const

function examples(command: string): string[][] {
  const pattern = new RegExp(`\\belect ${command}\\b([^\\n#|\`]*)`, 'g')
  return [...readme.matchAll(pattern)].map((match) => match[1].split(' -- ')[0].match(/--[a-z][a-z-]*/g) ?? [])
}

describe('README examples', () => {
  it.each(COMMANDS)('use only flags that elect %s --help lists', async (command) => {
    const found = examples(command)
    expect(found.length).toBeGreaterThan(0)
    const help = (await elect([command, '--help'])).stdout
    const known = new Set(help.match(/--[a-z][a-z-]*/g))
    for (const flags of found) {
      for (const flag of flags) expect(known.has(flag), `README uses ${flag} with elect ${command}`).toBe(true)
    }
  })
})

describe('README exit codes', () => {
  it("lists every code that a command's --help lists, and no other", async () => {
    const table = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('##', readme.indexOf('## Exit codes') + 3))
    const inReadme = new Set([...table.matchAll(/^\| ([0-9+n, ]+|other) \|/gm)].flatMap((row) => row[1].split(', ')))
    const inHelp = new Set<string>()
    for (const command of COMMANDS) {
      const help = (await elect([command, '--help'])).stdout
      const section = help.slice(help.indexOf('EXIT CODES'))
      for (const match of section.matchAll(/^\s+(\d+|128\+n|other)\s{2,}/gm)) inHelp.add(match[1])
    }
    expect([...inHelp].sort()).toEqual([...inReadme].sort())
  })
})
