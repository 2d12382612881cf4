import {Args, Flags} from '@oclif/core'
import {BaseCommand, duration, thisHost} from '../cli/base-command.js'
import {after} from '../time/clock.js'
import {AbortedError} from '../election/watch.js'
import {Election} from '../election/election.js'
import {ElectError, ExitCode, exitCodes} from '../contract/exit-codes.js'

export default class Resign extends BaseCommand {
  static summary = 'Ask the leader of an election to step down'
  static description = `Asks the leader whose value is --value (default: this host's name) to step down, and waits until its key is gone. The holder stops its command first and then deletes its key, so the next leader never overlaps it. With --force and no --value, whoever leads is asked; if it does not answer within --timeout, its key is deleted anyway (see the README for what that risks).`
  static exitCodes = exitCodes([1, 2, 69], {
    0: 'the leader stepped down (or its key was deleted, with --force)',
    3: 'nothing to resign: the one named does not lead',
    124: 'the leader did not step down within --timeout',
  })
  static examples = [
    '<%= config.bin %> resign nightly-report',
    '<%= config.bin %> resign nightly-report --value web-3 --timeout 30s',
    '<%= config.bin %> resign nightly-report --force',
  ]
  static args = {name: Args.string({required: true, description: 'election name'})}
  static flags = {
    value: Flags.string({helpValue: 'TEXT', description: 'resign only if this value leads (default: host name; with --force: any leader)'}),
    force: Flags.boolean({description: "delete the leader's key if it does not step down within --timeout"}),
    timeout: duration({description: 'how long to wait for the leader to step down', default: 10_000, defaultHelp: async () => '10s'}),
    json: Flags.boolean({description: 'print the outcome as JSON'}),
  }

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(Resign)
    const name = this.electionName(args.name)
    const wanted = flags.value === undefined ? (flags.force ? undefined : thisHost()) : this.candidateValue(flags.value)
    const resignation = await this.withEtcd(this.connectionOptions(flags), (client) =>
      resignLeader(new Election(client, this.electionPrefix(flags), name), name, {wanted, force: flags.force, timeoutMs: flags.timeout}),
    )
    if (flags.json) this.data(resignation)
    else this.say(`${resignation.value} ${resignation.forced ? 'was removed as' : 'stepped down as'} leader of ${name}`)
    return ExitCode.ok
  }
}

/** Who stepped down, and whether its key had to be deleted for it. */
interface Resignation {
  name: string
  value: string
  key: string
  revision: number
  forced: boolean
}

/**
 * Asks the leader (the one whose value is `wanted`, or any) to step down and waits for its key to go;
 * with `force`, deletes the key of a leader that does not within the time-out.
 */
async function resignLeader(
  election: Election,
  name: string,
  {wanted, force, timeoutMs}: {wanted?: string; force: boolean; timeoutMs: number},
): Promise<Resignation> {
  // With --holders, any of the holders may be asked; without --value, the oldest (the leader).
  const {candidates: holding} = await election.queue(await election.holdersSaid())
  const leader = wanted === undefined ? holding[0] : holding.find((holder) => holder.value === wanted)
  if (!leader) {
    const who = holding.length === 0 ? 'nobody leads it' : `${holding.map((holder) => holder.value).join(', ')} ${holding.length === 1 ? 'leads' : 'hold'} it`
    throw new ElectError(`nothing to resign: ${wanted ?? 'anyone'} does not lead ${name} (${who})`, ExitCode.nothingToResign)
  }
  const requested = await election.requestResign(leader, `${thisHost()}:${process.pid}`)
  let forced = false
  if (requested) {
    const timeout = new AbortController()
    const cancelTimeout = after(timeoutMs, () => timeout.abort('timeout'))
    try {
      await election.waitUntilGone(leader, timeout.signal)
    } catch (error) {
      if (!(error instanceof AbortedError)) throw error
      if (!force) throw new ElectError(`${leader.value} did not step down from ${name} within --timeout`, ExitCode.timedOut)
      await election.removeLeader(leader)
      forced = true
    } finally {
      cancelTimeout()
    }
  }
  return {name, value: leader.value, key: leader.key, revision: leader.createRevision, forced}
}
