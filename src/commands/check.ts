import {spawnSync} from 'node:child_process'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {isSecret, SETTINGS} from '../cli/configuration.js'
import {ExitCode, exitCodes} from '../contract/exit-codes.js'
import {type Check, checkCluster, checkEndpoints, checkGuard, checkRights, checkRuntime} from '../leadership/readiness.js'

export default class CheckReady extends BaseCommand {
  static summary = 'Say whether this server is ready to run leader-guarded jobs'
  static description = `One line per check: which configuration was read and where each setting comes from (secrets hidden); each endpoint reached, and how fast; TLS and credentials; what the user's role may do under the election's keys (read, lease, write, watch: tried harmlessly, on a key of its own); the cluster's members, leader and version, with its lease-safety verdict; the runtime directory and the campaign of NAME on it; which way the guard would keep a job; whether systemd-notify can be run.`
  static exitCodes = exitCodes([2], {
    0: 'every check passed',
    3: 'a check of this server failed',
    69: 'etcd unreachable or full, credentials or TLS refused, a right missing',
  })
  static examples = ['<%= config.bin %> check scheduler', '<%= config.bin %> check --json']
  static args = {
    name: Args.string({
      required: false,
      description: 'election name (default: elect-check): whose keys the rights are tried on and whose campaign is looked for',
    }),
  }
  static flags = {json: Flags.boolean({description: 'one JSON object: ready, and every check with its verdict'})}

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(CheckReady)
    const name = args.name === undefined ? undefined : this.electionName(args.name)
    const prefix = this.electionPrefix(flags)
    const connection = this.connectionOptions(flags)
    const checks: Check[] = [this.configurationCheck(flags)]
    const endpoints = await checkEndpoints(connection)
    checks.push(...endpoints)
    if (endpoints.some((check) => check.verdict === 'ok')) {
      checks.push(
        ...(await this.withEtcd(connection, async (client) => [
          ...(await checkCluster(client, process.env.ELECT_ACCEPT_ETCD_VERSION)),
          await checkRights(client, prefix, name ?? 'elect-check'),
        ])),
      )
    }
    checks.push(await checkRuntime(prefix, name), await checkGuard(), notifyCheck())
    const failed = checks.filter((check) => check.verdict === 'fail')
    const code = failed.some((check) => check.etcd) ? ExitCode.unavailable : failed.length > 0 ? ExitCode.notReady : ExitCode.ok
    if (flags.json) this.data({ready: code === ExitCode.ok, checks})
    else for (const {what, verdict, detail} of checks) this.data(`${verdict.padEnd(5)} ${what}: ${detail}`)
    return code
  }

  /** Which files were read, and where each setting that has a value comes from: a flag, the environment, a file. */
  private configurationCheck(flags: Record<string, string | number | boolean | undefined>): Check {
    const configuration = this.configuration!
    const files = configuration.files.map((file) => file.path)
    const sources = SETTINGS.flatMap((setting) => {
      const flag = FLAG_OF[setting]
      const source = flag && flags[flag] !== undefined ? `--${flag}` : configuration.sourceOf(setting, this.givenEnvironment)
      if (!source) return []
      const value = isSecret(setting) ? '(hidden)' : flag && flags[flag] !== undefined ? flags[flag] : configuration.merged(this.givenEnvironment)[setting]
      return [`${setting}=${value} from ${source === 'environment' ? 'the environment' : source}`]
    })
    return {
      what: 'configuration',
      verdict: 'ok',
      detail: `${files.length > 0 ? `read ${files.join(', ')}` : 'no file read'}${sources.length > 0 ? `; ${sources.join(', ')}` : '; every setting its default'}`,
    }
  }
}

/** The flag that overrides each setting. */
const FLAG_OF: Record<string, string> = {
  ELECT_ENDPOINTS: 'endpoints',
  ELECT_CACERT: 'cacert',
  ELECT_CERT: 'cert',
  ELECT_KEY_FILE: 'key',
  ELECT_USER: 'user',
  ELECT_PASSWORD: 'password',
  ELECT_PASSWORD_FILE: 'password-file',
  ELECT_PREFIX: 'prefix',
}

/** A campaign under systemd (Type=notify) speaks through systemd-notify. */
function notifyCheck(): Check {
  const found = spawnSync('systemd-notify', ['--version'], {stdio: 'ignore'}).status === 0
  if (found) return {what: 'systemd-notify', verdict: 'ok', detail: 'found: a campaign run as a Type=notify unit can tell systemd how it is'}
  return {
    what: 'systemd-notify',
    verdict: process.env.NOTIFY_SOCKET ? 'fail' : 'warn',
    detail: 'not found: a campaign under elect-campaign@.service (Type=notify) could not tell systemd it is ready',
  }
}
