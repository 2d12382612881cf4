// elect who-leads: an election's leadership as --json shows it, read from etcd in one place: the
// leader, the holders, the queue, the jobs running under it and the pauses that stand.
import type {Etcd3} from 'etcd3'
import {type Candidate, identity, queueRequest, toCandidate} from '../election/candidate.js'
import type {Election} from '../election/election.js'
import {secondsLeft} from '../lease/leases.js'
import {runningJobs} from '../jobs/running.js'
import {type Pause, standingPausesIn, standingPausesRequest} from '../jobs/pause.js'
import {TxnOps} from '../etcd/txn-ops.js'

/** The leader and the pauses that stand, as who-leads prints them: one read-only transaction, so one round trip to etcd. */
export async function leaderAndPauses(client: Etcd3, election: Election): Promise<{leader?: Candidate; pauses: Pause[]}> {
  const reads = new TxnOps({queue: [{request_range: queueRequest(election.keys, 1)}], pauses: [{request_range: standingPausesRequest(election.keys)}]})
  const {queue, pauses} = reads.found((await client.kv.txn({compare: [], success: reads.ops, failure: []})).responses)
  return {leader: queue[0].map(toCandidate)[0], pauses: standingPausesIn(election.keys, pauses[0])}
}

/** A candidate as --json shows it: its value, key, lease, create revision and the seconds its lease has left. */
export async function described(client: Etcd3, candidate: Candidate) {
  return {value: candidate.value, ...identity(candidate), ttl: await secondsLeft(client, candidate.leaseId)}
}

/** The election as --json shows it: the leader, the holders with --holders, the jobs running under it, and the pauses that stand (as leaderAndPauses read them). */
export async function leadership(client: Etcd3, election: Election, name: string, {leader, pauses: standing}: {leader?: Candidate; pauses: Pause[]}) {
  const jobs = (await runningJobs(client, election.keys)).map(({job, since, value, revision}) => ({job: job ?? null, since, value, revision}))
  const pauses = standing.map(({job, ...pause}) => ({job: job ?? null, ...pause}))
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

/** The whole queue as --candidates --json shows it, the leader first, each saying whether it holds. */
export async function queueOf(client: Etcd3, election: Election, name: string) {
  const [{candidates}, holders] = await Promise.all([election.queue(), election.holdersSaid()])
  return {
    name,
    holders,
    candidates: await Promise.all(candidates.map(async (candidate, place) => ({...(await described(client, candidate)), holds: place < holders}))),
  }
}
