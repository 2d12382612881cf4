// One configuration for cron, systemd and a shell: files in EnvironmentFile= syntax with the
// environment's names (the user's, and the one ELECT_CONFIG names; the system's /etc/elect/elect.env
// is the same code with a fixed path, which a test on a shared machine must not write). A flag beats
// the environment, which beats the files.
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterEach, describe, expect, inject, it} from 'vitest'
import {loadConfiguration, parseEnvironmentFile} from '../../src/cli/configuration.js'
import {cleanup, elect, tempDir, uniqueName} from '../harness/cli.js'

afterEach(cleanup)

/** A file of `lines` in a directory of its own, with `mode`; returns its path. */
function configFile(lines: string[], mode = 0o644, name = 'elect.env'): string {
  const path = join(tempDir(), name)
  writeFileSync(path, `${lines.join('\n')}\n`)
  chmodSync(path, mode)
  return path
}

/** The environment of a crontab line: no endpoints but what a file says. */
const cronEnv = (env: Record<string, string | undefined>) => ({env: {ELECT_ENDPOINTS: undefined, ETCDCTL_ENDPOINTS: undefined, ...env}})

describe('the configuration files', () => {
  it("reach etcd with the endpoints a file names, and nothing in the environment: ELECT_CONFIG, and the user's under XDG_CONFIG_HOME", async () => {
    const name = uniqueName('config')
    const named = configFile(['# as the .deb ships it, with one line filled in', `ELECT_ENDPOINTS=${(await etcdEndpoints()).join(',')}`])
    const viaConfig = await elect(['who-leads', name], cronEnv({ELECT_CONFIG: named}))
    expect([viaConfig.exitCode, viaConfig.stderr]).toEqual([3, `elect: nobody leads ${name}`])
    const home = tempDir()
    configFileAt(join(home, 'elect', 'elect.env'), [`ELECT_ENDPOINTS=${(await etcdEndpoints()).join(',')}`])
    const viaUser = await elect(['who-leads', name], cronEnv({XDG_CONFIG_HOME: home}))
    expect([viaUser.exitCode, viaUser.stderr]).toEqual([3, `elect: nobody leads ${name}`])
  })

  it("give way to the environment, and it to a flag; ELECT_CONFIG to the user's file", async () => {
    const name = uniqueName('config-order')
    const right = (await etcdEndpoints()).join(',')
    const wrong = '127.0.0.1:1'
    const home = tempDir()
    configFileAt(join(home, 'elect', 'elect.env'), [`ELECT_ENDPOINTS=${wrong}`])
    const named = configFile([`ELECT_ENDPOINTS=${right}`])
    expect((await elect(['who-leads', name], cronEnv({XDG_CONFIG_HOME: home, ELECT_CONFIG: named}))).exitCode).toBe(3)
    const environmentWins = await elect(['who-leads', name], cronEnv({ELECT_CONFIG: named, ELECT_ENDPOINTS: wrong}))
    expect([environmentWins.exitCode, environmentWins.stderr]).toEqual([69, `elect: etcd is unreachable at ${wrong}: ECONNREFUSED ${wrong}`])
    const flagWins = await elect(
      ['who-leads', name, '--endpoints', right],
      cronEnv({ELECT_CONFIG: configFile([`ELECT_ENDPOINTS=${wrong}`]), ELECT_ENDPOINTS: wrong}),
    )
    expect(flagWins.exitCode).toBe(3)
  })

  it('refuse in one line, exit 2: a password in a file others may read, a --password-file likewise, a name elect does not know, a line that is not NAME=VALUE', async () => {
    const name = uniqueName('config-refused')
    const open = configFile(['ELECT_USER=app', 'ELECT_PASSWORD=secret'], 0o644)
    const refused = await elect(['who-leads', name], cronEnv({ELECT_CONFIG: open}))
    expect([refused.exitCode, refused.stderr]).toEqual([
      2,
      `elect: ${open} holds a password and others may read it (mode 0644): chmod 600 ${open}, as ssh asks of a key`,
    ])
    const passwordFile = configFile(['secret'], 0o640, 'password')
    const byFlag = await elect(['who-leads', name, '--user', 'app', '--password-file', passwordFile])
    expect([byFlag.exitCode, byFlag.stderr]).toEqual([
      2,
      `elect: ${passwordFile} (--password-file) holds a password and others may read it (mode 0640): chmod 600 ${passwordFile}, as ssh asks of a key`,
    ])
    const typo = configFile(['ELECT_ENDPOINT=127.0.0.1:2379'])
    const unknown = await elect(['who-leads', name], cronEnv({ELECT_CONFIG: typo}))
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toMatch(new RegExp(`^elect: ${typo} sets ELECT_ENDPOINT, which elect does not know: it takes ELECT_ENDPOINTS, `))
    const garbled = configFile(['ELECT_ENDPOINTS=127.0.0.1:2379', 'export ELECT_PREFIX=jobs/'])
    const notAssignment = await elect(['who-leads', name], cronEnv({ELECT_CONFIG: garbled}))
    expect([notAssignment.exitCode, notAssignment.stderr]).toEqual([2, `elect: ${garbled}:2: not NAME=VALUE: "export ELECT_PREFIX=jobs/"`])
    const missing = await elect(['who-leads', name], cronEnv({ELECT_CONFIG: '/nonexistent/elect.env'}))
    expect([missing.exitCode, missing.stderr]).toEqual([2, 'elect: cannot read ELECT_CONFIG /nonexistent/elect.env: ENOENT'])
  })

  it('take a password from a file of mode 600, and name a --password-file by ELECT_PASSWORD_FILE', async () => {
    const name = uniqueName('config-private')
    const passwordFile = configFile(['secret'], 0o600, 'password')
    const named = configFile([`ELECT_ENDPOINTS=${(await etcdEndpoints()).join(',')}`, 'ELECT_USER=app', `ELECT_PASSWORD_FILE=${passwordFile}`], 0o644)
    // This etcd has no auth: it refuses any login, which shows the file's password was taken and sent.
    const result = await elect(['who-leads', name], cronEnv({ELECT_CONFIG: named}))
    expect([result.exitCode, result.stderr]).toEqual([
      69,
      `elect: etcd at ${(await etcdEndpoints()).join(',')} has no auth enabled, and a user was given: drop --user (ELECT_USER)`,
    ])
  })
})

describe("the files' syntax (systemd's EnvironmentFile=)", () => {
  it('takes comments, blank lines, quotes and a continued line', () => {
    expect(
      parseEnvironmentFile(
        [
          '# a comment',
          '; another',
          '',
          '  ELECT_PREFIX = jobs/ ',
          'ELECT_USER="app"',
          "ELECT_CACERT='/etc/elect/ca.pem'",
          'ELECT_ENDPOINTS=a:1,\\',
          'b:2',
        ].join('\n'),
        'f',
      ),
    ).toEqual({
      ELECT_PREFIX: 'jobs/',
      ELECT_USER: 'app',
      ELECT_CACERT: '/etc/elect/ca.pem',
      ELECT_ENDPOINTS: 'a:1,b:2',
    })
  })

  it('says where each setting comes from: the environment first, then the last file that sets it', () => {
    const home = tempDir()
    const user = configFileAt(join(home, 'elect', 'elect.env'), ['ELECT_PREFIX=a/', 'ELECT_USER=u'])
    const named = configFile(['ELECT_PREFIX=b/'])
    const configuration = loadConfiguration({XDG_CONFIG_HOME: home, ELECT_CONFIG: named})
    const environment = {ELECT_USER: 'from-env'}
    expect(configuration.files.map((file) => file.path).filter((path) => path !== '/etc/elect/elect.env')).toEqual([user, named])
    expect(['ELECT_PREFIX', 'ELECT_USER', 'ELECT_CACERT'].map((setting) => configuration.sourceOf(setting, environment))).toEqual([
      named,
      'environment',
      undefined,
    ])
    expect(configuration.merged(environment)).toMatchObject({ELECT_PREFIX: 'b/', ELECT_USER: 'from-env'})
  })
})

function configFileAt(path: string, lines: string[]): string {
  mkdirSync(dirname(path), {recursive: true})
  writeFileSync(path, `${lines.join('\n')}\n`)
  return path
}

async function etcdEndpoints(): Promise<string[]> {
  return inject('etcdEndpoints')
}
