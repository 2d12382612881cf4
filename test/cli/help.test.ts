// Help and completion, as users meet them.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {cleanup, elect, tempDir} from '../harness/cli.js'

afterEach(cleanup)

const COMMANDS = ['campaign', 'run-if-leader', 'who-leads', 'resign', 'runs', 'pause', 'resume', 'check', 'holds']

describe('help', () => {
  it('elect help lists the commands with what each does', async () => {
    const result = await elect(['help'])
    expect(result.exitCode).toBe(0)
    for (const command of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${command}\\s+\\S`, 'm'))
  })

  it.each(COMMANDS)('%s --help has a description, real examples and its exit codes, and fits a screen of 80 columns', async (command) => {
    const {stdout, exitCode} = await elect([command, '--help'])
    expect(exitCode).toBe(0)
    expect(stdout).toMatch(/^DESCRIPTION\n {2}\S/m)
    expect(stdout).toMatch(new RegExp(`^EXAMPLES\\n {2}\\$ elect ${command} \\S`, 'm'))
    expect(stdout).toMatch(/^EXIT CODES\n {2}0 +\S/m)
    // A skip exits 0 too, which a script reading the code must know.
    if (command === 'run-if-leader') expect(stdout).toMatch(/^ {2}0 +.*\bor a skip\b/m)
    const lines = stdout.trimEnd().split('\n')
    expect(lines.length).toBeLessThanOrEqual(60)
    expect(lines.filter((line) => line.length > 80)).toEqual([])
    // The connection flags every command shares are named, and told in full once, by elect --help.
    expect(stdout).toMatch(/^CONNECTION FLAGS\n {2}--endpoints /m)
    expect((await elect(['help', command])).stdout).toBe(stdout)
  })

  it('elect --help lists the connection flags in full, the configuration files and every exit code a command has', async () => {
    const {stdout, exitCode} = await elect(['--help'])
    expect(exitCode).toBe(0)
    expect(stdout).toMatch(/^ {2}--endpoints URLS +etcd endpoints/m)
    expect(stdout).toContain('/etc/elect/elect.env')
    const codes = (text: string) => new Set([...text.slice(text.indexOf('EXIT CODES')).matchAll(/^ {2}(\d+|128\+n|other) {2,}/gm)].map((match) => match[1]))
    const everyCommands = new Set<string>()
    for (const command of COMMANDS) for (const code of codes((await elect([command, '--help'])).stdout)) everyCommands.add(code)
    expect([...codes(stdout)].sort()).toEqual([...everyCommands].sort())
    expect(stdout.split('\n').filter((line) => line.length > 80)).toEqual([])
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
