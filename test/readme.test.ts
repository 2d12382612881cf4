// The README's examples must be commands elect accepts: every flag an example uses is one the
// command's real --help lists.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {elect} from './support/cli.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const COMMANDS = ['campaign', 'run-if-leader', 'who-leads', 'resign'] as const

function examples(command: string): string[][] {
  const pattern = new RegExp(`\\belect ${command}\\b([^\\n#|\`]*)`, 'g')
  return [...readme.matchAll(pattern)].map((match) => (match[1].split(' -- ')[0].match(/--[a-z][a-z-]*/g) ?? []))
}

describe('README examples', () => {
  it.each(COMMANDS)('use only flags that elect %s --help lists', async (command) => {
    const found = examples(command)
    expect(found.length).toBeGreaterThan(0)
    const help = (await elect([command, '--help'])).stdout
    for (const flags of found) {
      for (const flag of flags) expect(help, `README uses ${flag} with elect ${command}`).toContain(flag)
    }
  })
})
