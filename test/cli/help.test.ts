// Help and completion, as users meet them.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {cleanup, elect, tempDir} from '../harness/cli.js'

afterEach(cleanup)

const COMMANDS = ['campaign', 'run-if-leader', 'who-leads', 'resign', 'runs', 'pause', 'resume', 'check']

describe('help', () => {
  it('elect help lists the commands with what each does', async () => {
    const result = await elect(['help'])
    expect(result.exitCode).toBe(0)
    for (const command of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${command}\\s+\\S`, 'm'))
  })

  it.each(COMMANDS)('%s --help has a description, real examples and an EXIT CODES section', async (command) => {
    const {stdout, exitCode} = await elect([command, '--help'])
    expect(exitCode).toBe(0)
    expect(stdout).toMatch(/^DESCRIPTION\n {2}\S/m)
    expect(stdout).toMatch(new RegExp(`^EXAMPLES\\n {2}\\$ elect ${command} \\S`, 'm'))
    expect(stdout).toMatch(/EXIT CODES\n\s+0\s+success/)
    // A skip exits 0 too, which a script reading the code must know.
    if (command === 'run-if-leader') expect(stdout).toMatch(/^\s+0\s+success; for run-if-leader also a skip/m)
    expect((await elect(['help', command])).stdout).toBe(stdout)
  })
})

describe('completion', () => {
  it('elect autocomplete sets up bash and zsh completion that knows the commands', async () => {
    const cache = tempDir()
    const env = {XDG_CACHE_HOME: cache, HOME: tempDir()}
    const setup = await elect(['autocomplete', 'bash'], {env})
    expect(setup.exitCode).toBe(0)
    expect(setup.stdout).toContain('elect autocomplete script bash')
    const functions = join(cache, 'elect', 'autocomplete', 'functions')
    for (const file of [join(functions, 'bash', 'elect.bash'), join(functions, 'zsh', '_elect')]) {
      const completion = readFileSync(file, 'utf8')
      for (const command of COMMANDS) expect(completion).toContain(command)
      for (const flag of ['--once-per', '--holders', '--health-cmd', '--health-failures']) expect(completion).toContain(flag)
    }
    const script = await elect(['autocomplete', 'script', 'zsh'], {env})
    expect(script.exitCode).toBe(0)
    expect(script.stdout).toMatch(/ELECT_AC_ZSH_SETUP_PATH/)
  })
})
