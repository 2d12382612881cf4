// Colour and spinners only for a person at a real terminal. script(1) gives elect a real pty.
import {afterEach, describe, expect, it} from 'vitest'
import {execa} from 'execa'
import {inject} from 'vitest'
import {cleanup, elect, electProcess, startElect, uniqueName, waitFor} from '../harness/cli.js'

afterEach(cleanup)

// eslint-disable-next-line no-control-regex -- an escape sequence is what it looks for
const ANSI = /\x1b\[/

/** Runs `campaign` for a waiting candidate on a pty of the given width for ~1.5 s; returns what it drew. */
async function campaignOnTerminal(columns: number, env: Record<string, string> = {}) {
  const name = uniqueName('tty')
  void startElect(['campaign', name, '--value', 'holder'])
  expect(await waitFor(async () => (await elect(['who-leads', name])).stdout === 'holder')).toBe(true)
  const inner = `stty cols ${columns} rows 24; exec ${electProcess().flat().join(' ')} campaign ${name} --value waiter --timeout 1500ms`
  const result = await execa('script', ['-qfec', inner, '/dev/null'], {
    reject: false,
    timeout: 20_000,
    env: {ELECT_ENDPOINTS: inject('etcdEndpoints').join(','), TERM: 'xterm-256color', NO_COLOR: undefined, CI: undefined, ...env},
    extendEnv: true,
  })
  // The waiter never leads: campaign's own exit is --timeout's 124, passed on by script -e.
  expect(result.exitCode).toBe(124)
  return result.stdout
}

describe('on a terminal', () => {
  it('shows a spinner while waiting when the terminal has a width', async () => {
    const drawn = await campaignOnTerminal(80)
    expect(drawn).toMatch(ANSI)
    expect(drawn).toContain('waiting to lead')
  })

  it.each([
    ['a terminal that reports 0 columns', 0, {}],
    ['NO_COLOR', 80, {NO_COLOR: '1'}],
    ['TERM=dumb', 80, {TERM: 'dumb'}],
    ['CI', 80, {CI: 'true'}],
  ])('draws no spinner and no colour with %s', async (_, columns, env) => {
    const drawn = await campaignOnTerminal(columns, env)
    expect(drawn).not.toMatch(ANSI)
    expect(drawn).toContain('not elected leader')
  })
})

describe('off a terminal', () => {
  it('writes no ANSI codes, in help or in output', async () => {
    for (const argv of [['--help'], ['run-if-leader', '--help'], ['who-leads', uniqueName('plain')]]) {
      const result = await elect(argv, {env: {NO_COLOR: undefined, FORCE_COLOR: undefined}})
      expect(result.stdout + result.stderr).not.toMatch(ANSI)
    }
  })
})
