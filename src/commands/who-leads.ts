import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {type Candidate, identity} from '../election/candidate.js'
import {Election} from '../election/election.js'
import {secondsLeft} from '../lease/leases.js'
import type {Etcd3} from 'etcd3'
import {runningJobs} from '../jobs/running.js'
import {standingPauseLine, standingPauses} from '../jobs/pause.js'
import {onStopSignals} from '../leadership/signals.js'
import {ExitCode, exitCodes} from '../contract/exit-codes.js'

export default class WhoLeads extends BaseCommand {
  static summary = 'Print who leads an election'
  static description = `Prints the leader's value alone on stdout, so $(elect who-leads NAME) works in scripts; a pause that stands (see elect pause) is one line on stderr.`
  static exitCodes = exitCodes([1, 2, 69], {0: 'someone leads (with --is: that one)', 3: 'nobody leads, or not the one --is names'})
  static examples = [
    '<%= config.bin %> who-leads nightly-report',
    'if <%= config.bin %> who-leads nightly-report --is "$(hostname)"; then echo "I lead"; fi',
    '<%= config.bin %> who-leads nightly-report --json',
    '<%= config.bin %> who-leads nightly-report --watch',
  ]
  static args = {name: Args.string({required: true, description: 'election name'})}
  static flags = {
    json: Flags.boolean({description: 'print key, lease, create revision and TTL left, the holders (with --holders), the running jobs and the pauses as JSON'}),
    watch: Flags.boolean({description: 'print the leader now and after every change, one line each (empty: nobody)'}),
    is: Flags.string({helpValue: 'TEXT', description: 'print nothing; exit 0 only if this value leads'}),
    candidates: Flags.boolean({description: 'print the whole queue, the leader first (with --json: which of them hold)'}),
  }

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(WhoLeads)
    const name = this.electionName(args.name)
    if (flags.is !== undefined) this.candidateValue(flags.is, '--is')
    return this.withEtcd(this.connectionOptions(flags), async (client) => {
      const election = new Election(client, this.electionPrefix(flags), name)
      if (flags.watch) return this.watch(election, name, flags.json)
      if (flags.candidates) {
        const [{candidates}, holders] = await Promise.all([election.queue(), election.holdersSaid()])
        if (flags.json)
          this.data({
            name,
            holders,
            candidates: await Promise.all(candidates.map(async (candidate, place) => ({...(await described(client, candidate)), holds: place < holders}))),
          })
        else for (const candidate of candidates) this.data(candidate.value)
        return candidates.length > 0 ? ExitCode.ok : ExitCode.noLeader
      }
      const leader = await election.leader()
      if (flags.json) this.data(await leadership(client, election, name, leader))
      if (flags.is !== undefined) return leader?.value === flags.is ? ExitCode.ok : ExitCode.noLeader
      if (!flags.json) {
        if (leader) this.data(leader.value)
        else this.say(`nobody leads ${name}`)
        for (const pause of await standingPauses(client, election.keys)) this.say(standingPauseLine(name, pause))
      }
      return leader ? ExitCode.ok : ExitCode.noLeader
    })
  }

  /** The leader now and after every change, one line each, until a signal. */
  private async watch(election: Election, name: string, json: boolean): Promise<number> {
    const stop = new AbortController()
    const unlisten = onStopSignals(() => stop.abort())
    try {
      await election.observe((leader) => {
        if (json) this.data({name, leader: leader ? {value: leader.value, key: leader.key, revision: leader.createRevision} : null})
        else this.data(leader?.value ?? '')
      }, stop.signal)
    } finally {
      unlisten()
    }
    return ExitCode.ok
  }
}

/** A candidate as --json shows it: its value, key, lease, create revision and the seconds its lease has left. */
async function described(client: Etcd3, candidate: Candidate) {
  return {value: candidate.value, ...identity(candidate), ttl: await secondsLeft(client, candidate.leaseId)}
}

/** The election as --json shows it: the leader, the holders with --holders, the jobs running under it, and the pauses that stand. */
async function leadership(client: Etcd3, election: Election, name: string, leader: Candidate | undefined) {
  const jobs = (await runningJobs(client, election.keys)).map(({job, since, value, revision}) => ({job: job ?? null, since, value, revision}))
  const pauses = (await standingPauses(client, election.keys)).map(({job, ...pause}) => ({job: job ?? null, ...pause}))
  const holders = await election.holdersSaid()
  const holding = holders === 1 ? [] : (await election.queue(holders)).candidates
  return {
    name,
    leader: leader ? await described(client, leader) : null,
    ...(holders === 1 ? {} : {holders, holding: await Promise.all(holding.map((holder) => described(client, holder)))}),
    jobs,
    pauses,
  }
}
