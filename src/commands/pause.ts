import {userInfo} from 'node:os'
import {Args, Flags} from '@oclif/core'
import {BaseCommand, positiveDuration, thisHost} from '../cli/base-command.js'
import {ExitCode, exitCodes} from '../contract/exit-codes.js'
import {ElectionKeys} from '../election/keys.js'
import {pause} from '../jobs/pause.js'
import {runningJobs} from '../jobs/running.js'

export default class Pause extends BaseCommand {
  static summary = 'Pause an election, or one of its jobs, on every server at once'
  static description = `While the pause stands, every run-if-leader of the election (with --job, of that job) on every server skips with one read and no write, and says why with --verbose or on a terminal (exit 0, or its --skip-exit-code). A run waiting for its turn skips when its turn comes. A run already running is not stopped: elect resign stops it. The pause stands until elect resume or, with --for, until that time has passed (a lease: a forgotten pause ends by itself). A new pause replaces the one that stood.`
  static exitCodes = exitCodes([1, 2, 69], {0: 'the pause stands'})
  static examples = [
    '<%= config.bin %> pause nightly-report --reason "database migration, INC-1234"',
    '<%= config.bin %> pause scheduler --job rotate --for 2h',
  ]
  static args = {name: Args.string({required: true, description: 'election name'})}
  static flags = {
    job: Flags.string({helpValue: 'NAME', description: 'pause only this job (default: every run of the election)'}),
    reason: Flags.string({helpValue: 'TEXT', description: 'why, shown by every skip, who-leads --json and elect runs'}),
    for: positiveDuration({description: 'end the pause by itself after this long (default: when resumed)'}),
    json: Flags.boolean({description: 'print the pause as JSON'}),
  }

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(Pause)
    const name = this.electionName(args.name)
    const job = flags.job === undefined ? undefined : this.electionName(flags.job, 'job name')
    const reason = flags.reason === undefined ? undefined : this.candidateValue(flags.reason, '--reason')
    if (flags.for !== undefined) this.grantable(flags.for, '--for')
    const keys = new ElectionKeys(this.electionPrefix(flags), name)
    const {paused, running} = await this.withEtcd(this.connectionOptions(flags), async (client) => ({
      paused: await pause(client, keys, {job, by: `${process.env.SUDO_USER ?? userInfo().username}@${thisHost()}`, reason, forMs: flags.for}),
      running: (await runningJobs(client, keys)).filter((run) => job === undefined || run.job === job),
    }))
    if (flags.json) this.data({name, ...paused, running: running.map(({job, value, since}) => ({job: job ?? null, value, since}))})
    else {
      const what = job === undefined ? name : `job ${job} of ${name}`
      const goesOn =
        running.length === 0
          ? ''
          : `; ${running.length === 1 ? 'a run' : `${running.length} runs`} already running ${running.length === 1 ? 'goes' : 'go'} on (elect resign stops ${running.length === 1 ? 'it' : 'them'})`
      this.say(`paused ${what} ${paused.until ? `until ${paused.until}` : 'until elect resume'}${goesOn}`)
    }
    return ExitCode.ok
  }
}
