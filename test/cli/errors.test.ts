import {createServer, type Socket} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {cleanup, elect, tempDir, uniqueName} from '../harness/cli.js'

afterEach(cleanup)

// More bad input is tested beside the feature it concerns: a command not found or not executable
// (run-if-leader), a wrong password, a missing certificate file, TLS to a plain server and plain to a
// TLS server (security), nothing to resign (campaign-resign), Ctrl-C while waiting (run-if-leader).
describe('bad input and unusable etcd', () => {
  it.each<[string, string[], number, RegExp]>([
    ['an unknown flag', ['who-leads', 'x', '--bogus'], 2, /^elect: Nonexistent flag: --bogus\nSee: elect who-leads --help$/],
    ['a misspelt flag', ['who-leads', 'x', '--jsn'], 2, /^elect: Nonexistent flag: --jsn \(did you mean --json\?\)\nSee: elect who-leads --help$/],
    [
      'a misspelt connection flag',
      ['run-if-leader', 'x', '--endpoint', 'a:1', '--', 'true'],
      2,
      /^elect: Nonexistent flag: --endpoint \(did you mean --endpoints\?\)\nSee: elect run-if-leader --help$/,
    ],
    [
      'a misspelt command',
      ['who-lead', 'x'],
      2,
      /^elect: unknown command "who-lead" \(did you mean who-leads\?\): use campaign, check, del, holds, pause, put, resign, resume, run-if-leader, runs, txn, who-leads \(see elect --help\)$/,
    ],
    ['a missing name', ['who-leads'], 2, /^elect: Missing 1 required arg:/],
    ['a name with a slash', ['who-leads', 'a/b'], 2, /^elect: invalid election name "a\/b"/],
    ['a name that is too long', ['who-leads', 'x'.repeat(129)], 2, /^elect: invalid election name/],
    ['a bad duration', ['campaign', 'x', '--ttl', '10 parsecs'], 2, /is not a duration/],
    [
      '--ttl not above --kill-grace plus the margin',
      ['run-if-leader', 'x', '--ttl', '3s', '--kill-grace', '2s', '--', 'true'],
      2,
      /--ttl 3s must exceed --kill-grace \(2s\) plus a 1s safety margin/,
    ],
    ['a missing --', ['run-if-leader', 'x', 'true'], 2, /^elect: missing "--" before the command/],
    ['nothing after --', ['run-if-leader', 'x', '--'], 2, /^elect: nothing to run after "--"/],
    ['--wait with garbage', ['run-if-leader', 'x', '--wait', 'soon', '--', 'true'], 2, /--wait "soon" is not 0, a duration/],
    ['a malformed endpoint', ['who-leads', 'x', '--endpoints', 'http://a b'], 2, /^elect: malformed endpoint "http:\/\/a b"/],
    ['a cert without its key', ['who-leads', 'x', '--cert', 'c.pem'], 2, /^elect: --cert and --key go together/],
    ['an unknown kill signal', ['run-if-leader', 'x', '--kill-signal', 'SIGNOPE', '--', 'true'], 2, /is not a signal name/],
    [
      'an unknown command',
      ['frobnicate', 'x'],
      2,
      /^elect: unknown command "frobnicate": use campaign, check, del, holds, pause, put, resign, resume, run-if-leader, runs, txn, who-leads \(see elect --help\)$/,
    ],
    ['--is without a value', ['who-leads', 'x', '--is'], 2, /^elect: Flag --is expects a value\nSee: elect who-leads --help$/],
    ['--once-per of zero', ['run-if-leader', 'x', '--once-per', '0', '--', 'true'], 2, /^elect: --once-per must be longer than 0/],
    ['a password without a user', ['who-leads', 'x', '--password', 'p'], 2, /^elect: a password needs a user: add --user$/],
    [
      'a missing --password-file',
      ['who-leads', 'x', '--user', 'a', '--password-file', '/nonexistent'],
      2,
      /^elect: cannot read --password-file \/nonexistent: ENOENT$/,
    ],
    [
      'an exit code out of range',
      ['run-if-leader', 'x', '--skip-exit-code', '300', '--', 'true'],
      2,
      /^elect: --skip-exit-code: Expected an integer less than or equal to 255/,
    ],
    ['a negative timeout', ['campaign', 'x', '--timeout', '-5s'], 2, /^elect: --timeout: "-5s" is not a duration/],
    ['an empty endpoint list', ['who-leads', 'x', '--endpoints', ''], 2, /^elect: no etcd endpoint given: use --endpoints host:port$/],
    // Refused before any connection: the endpoint below answers nothing, which would be exit 69.
    ...(
      [
        [
          'a value of two lines',
          ['run-if-leader', 'x', '--value', 'two\nlines', '--', 'true'],
          /^elect: --value "two\\nlines" is not a value: use one or more characters, none of them a newline or other control character$/,
        ],
        ['an empty value', ['campaign', 'x', '--value', ''], /^elect: --value "" is not a value/],
        ['a value with a tab, to compare', ['who-leads', 'x', '--is', 'a\tb'], /^elect: --is "a\\tb" is not a value/],
        ['an empty value to resign', ['resign', 'x', '--value', ''], /^elect: --value "" is not a value/],
        ['a dial timeout of 0', ['who-leads', 'x', '--dial-timeout', '0'], /^elect: --dial-timeout: "0" must be longer than 0$/],
        ['a command timeout of 0', ['runs', 'x', '--command-timeout', '0s'], /^elect: --command-timeout: "0s" must be longer than 0$/],
        [
          'a jitter as long as the slot',
          ['run-if-leader', 'x', '--once-per', '1m', '--jitter', '60s', '--', 'true'],
          /^elect: --jitter 1m must be shorter than --once-per 1m, or a fire could run after the next one$/,
        ],
        ['a max runtime of 0', ['run-if-leader', 'x', '--max-runtime', '0', '--', 'true'], /^elect: --max-runtime: "0" must be longer than 0$/],
        [
          'a campaign TTL inside the safety margin',
          ['campaign', 'x', '--ttl', '1ms'],
          /^elect: --ttl 1ms must exceed the 1s safety margin of a leadership's lease$/,
        ],
        [
          'a TTL longer than etcd grants',
          ['run-if-leader', 'x', '--ttl', '99999999999', '--', 'true'],
          /^elect: --ttl 99999999999s is longer than etcd grants a lease \(2500000h\)$/,
        ],
        ['a campaign TTL longer than etcd grants', ['campaign', 'x', '--ttl', '99999999999'], /^elect: --ttl 99999999999s is longer than etcd grants a lease/],
        ['a --cacert that is not PEM', ['who-leads', 'x', '--cacert', 'NOT_PEM'], /^elect: --cacert \S+ is not a PEM file with a certificate in it$/],
        [
          'a --cert that is not PEM',
          ['who-leads', 'x', '--cert', 'NOT_PEM', '--key', 'NOT_PEM'],
          /^elect: --cert \S+ is not a PEM file with a certificate in it$/,
        ],
        [
          'a duration too long to keep',
          ['run-if-leader', 'x', '--wait', '99999999999999999999d', '--', 'true'],
          /^elect: --wait "99999999999999999999d" is not 0, a duration/,
        ],
      ] as Array<[string, string[], RegExp]>
    ).map(([what, argv, message]): [string, string[], number, RegExp] => {
      const end = argv.includes('--') ? argv.indexOf('--') : argv.length
      return [what, [...argv.slice(0, end), '--endpoints', '127.0.0.1:1', ...argv.slice(end)], 2, message]
    }),
  ])('%s is a usage error: one line, exit 2', async (_, argv, code, message) => {
    const notPem = join(tempDir(), 'not.pem')
    writeFileSync(notPem, 'hello\n')
    const result = await elect(argv.map((word) => (word === 'NOT_PEM' ? notPem : word)))
    expect(result.exitCode).toBe(code)
    expect(result.stderr).toMatch(message)
    expect(result.stderr).not.toMatch(/\n\s+at /) // no stack trace
    expect(result.stdout).toBe('')
  })

  it('a refused endpoint exits 69 at once, with one line', async () => {
    const result = await elect(['who-leads', uniqueName('x'), '--endpoints', '127.0.0.1:1'])
    expect(result.exitCode).toBe(69)
    expect(result.stderr).toBe('elect: etcd is unreachable at 127.0.0.1:1: ECONNREFUSED 127.0.0.1:1')
  })

  it('an endpoint that accepts but never answers exits 69 after --dial-timeout, not before and not never', async () => {
    const held: Socket[] = []
    const silent = createServer((socket) => held.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const endpoint = `127.0.0.1:${(silent.address() as {port: number}).port}`
    try {
      for (const [flag, ms] of [
        ['1s', 1000],
        ['3s', 3000],
      ] as const) {
        const started = Date.now()
        const result = await elect(['who-leads', uniqueName('x'), '--endpoints', endpoint, '--dial-timeout', flag])
        const took = Date.now() - started
        expect(result.exitCode).toBe(69)
        expect(result.stderr).toBe(`elect: etcd is unreachable at ${endpoint}: no answer before the deadline`)
        expect(took).toBeGreaterThanOrEqual(ms)
        expect(took).toBeLessThan(ms + 10_000)
      }
    } finally {
      for (const socket of held) socket.destroy()
      silent.close()
    }
  })

  it('run-if-leader against an unreachable etcd exits 69 and never runs the command', async () => {
    const result = await elect(['run-if-leader', uniqueName('x'), '--endpoints', '127.0.0.1:1', '--', 'echo', 'ran'])
    expect(result.exitCode).toBe(69)
    expect(result.stdout).toBe('')
  })
})

describe("Node's own warnings", () => {
  it("never reach a user's terminal or cron mail: stderr holds nothing but what the job wrote", async () => {
    const result = await elect(['run-if-leader', uniqueName('warn'), '--', 'sh', '-c', 'echo out; echo err >&2'], {inject: {nodeWarning: true}})
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toBe('out')
    expect(result.stderr).toBe('err')
    // Each start-up, the one-shot commands' too (src/README.md, "Two start-ups").
    const name = uniqueName('warn')
    const oneShot = await elect(['who-leads', name], {inject: {nodeWarning: true}})
    expect([oneShot.exitCode, oneShot.stderr]).toEqual([3, `elect: nobody leads ${name}`])
  })

  it('are shown with ELECT_DEBUG (so the injected one is real)', async () => {
    const result = await elect(['run-if-leader', uniqueName('warn'), '--', 'true'], {inject: {nodeWarning: true}, env: {ELECT_DEBUG: '1'}})
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toMatch(/\(node:\d+\) TimeoutNegativeWarning: a delay of -1 ms/)
  })
})
