import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {ExitCode, exitCodes} from '../contract/exit-codes.js'
import {ElectionKeys} from '../election/keys.js'
import {describePause, resume} from '../jobs/pause.js'

export default class Resume extends BaseCommand {
  static summary = 'End a pause of an election, or of one of its jobs'
  static description = `Ends the pause that elect pause put on the election (with --job, on that job): its next runs go ahead. Resuming what is not paused changes nothing and exits 0, so a runbook may resume twice. A pause of the whole election and one of a job are separate: each is resumed on its own.`
  static exitCodes = exitCodes([1, 2, 69], {0: 'no pause stands now (none stood, or it was ended)'})
  static examples = ['<%= config.bin %> resume nightly-report', '<%= config.bin %> resume scheduler --job rotate']
  static args = {name: Args.string({required: true, description: 'election name'})}
  static flags = {
    job: Flags.string({helpValue: 'NAME', description: "resume this job (default: the election's own pause)"}),
    json: Flags.boolean({description: 'print the pause that was ended as JSON (null if none stood)'}),
  }

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(Resume)
    const name = this.electionName(args.name)
    const job = flags.job === undefined ? undefined : this.electionName(flags.job, 'job name')
    const keys = new ElectionKeys(this.electionPrefix(flags), name)
    const ended = await this.withEtcd(this.connectionOptions(flags), (client) => resume(client, keys, job))
    const what = job === undefined ? name : `job ${job} of ${name}`
    if (flags.json) this.data({name, job: job ?? null, resumed: ended ?? null})
    else this.say(ended ? `resumed ${what} (it was ${describePause(ended)})` : `${what} was not paused`)
    return ExitCode.ok
  }
}
