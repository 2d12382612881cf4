// `npm run load -- [--kind elect|go] [--k 250,1000,2500,5000] [--members 1|3] [--per-election 20] [--label NAME]`: a JSON line per K
//
// What a fleet of idle candidates costs one etcd, by simulation: K candidacies in this one process,
// made by elect's own protocol code (Session, Election, Candidacy: what a standing campaign runs), or
// by a stand-in with the wire pattern of Go's concurrency.Election (`--kind go`: a lease renewed every
// TTL/3 on one keepalive stream, a key, a read of the one ahead, a watch of it, nothing else), in
// elections of --per-election candidates. For each K: etcd's messages and CPU per second (its own
// /metrics, summed over the members), the p50/p99 latency another client of that etcd sees (a
// linearizable read and a put, in turn, every 50 ms), and the handover time inside that load (the
// holder of one more election releases, with its successor already queued). Each candidate has a
// connection of its own in a real fleet; here 50 share one, which changes nothing etcd counts.
//
// "elect before" is the same file run in a worktree of the commit before issue 25 (test/README.md, Performance).
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {execa} from 'execa'
import type {Etcd3} from 'etcd3'
import {AbortedError} from '../../src/election/watch.js'
import type {Candidacy} from '../../src/election/candidacy.js'
import {Election} from '../../src/election/election.js'
import {prefixEnd} from '../../src/election/keys.js'
import {cancelStream, connect, openWatchStream, type WatchStream} from '../../src/etcd/connection.js'
import {isTransient} from '../../src/etcd/errors.js'
import {fenceLeadMs} from '../../src/lease/fence.js'
import {Session} from '../../src/lease/session.js'
import {startCluster} from '../harness/etcd.js'
import {sleep} from '../harness/processes.js'
import {etcdCounters, type EtcdCounters} from '../harness/etcd-metrics.js'

const {values} = parseArgs({
  options: {
    kind: {type: 'string', default: 'elect'},
    k: {type: 'string', default: '250,1000,2500,5000'},
    members: {type: 'string', default: '1'},
    'per-election': {type: 'string', default: '20'},
    label: {type: 'string'},
    // Internal: the bystander, a process of its own, so that the K candidacies' event loop is not in its latency.
    probe: {type: 'string'},
  },
})
if (values.probe !== undefined) await probe(values.probe.split(','))
const kind = values.kind as 'elect' | 'go'
const levels = values.k.split(',').map(Number)
const perElection = Number(values['per-election'])
const label = values.label ?? kind
const WARMUP_MS = 15_000
const MEASURE_MS = 30_000
const PER_CLIENT = 50
// elect's default: --ttl 10s, renewals every 3 s. Go's stand-in renews as often (TTL 9 s, every TTL/3).
const ELECT_TTL_MS = 10_000
const GO_TTL_S = 9
/** Candidates of the level being measured whose start etcd timed out, and that tried again. */
let startRetries = 0
let startedCandidates = 0

interface Candidate {
  /** Resolves once it leads (never for most). */
  leads: Promise<void>
  close(): Promise<void>
}

const cluster = await startCluster(Number(values.members))
const clients: Etcd3[] = []
const clientFor = async (index: number): Promise<Etcd3> => {
  const slot = Math.floor(index / PER_CLIENT)
  clients[slot] ??= await connect({endpoints: cluster.endpoints, dialTimeoutMs: 5000, commandTimeoutMs: 10_000})
  return clients[slot]
}

try {
  for (const k of levels) {
    try {
      console.log(JSON.stringify(await measure(k)))
    } catch (error) {
      // An etcd that could not carry this K: said as a line of its own, and no larger K is tried.
      console.log(JSON.stringify({label, kind, members: cluster.members.length, k, failed: String(error).split('\n')[0], startedCandidates, startRetries}))
      break
    }
  }
} finally {
  for (const client of clients) client.close()
  await cluster.stop()
}
process.exit(0)

async function measure(k: number) {
  const run = `load-${process.pid}-${k}`
  startRetries = 0
  startedCandidates = 0
  const candidates: Candidate[] = []
  const started = performance.now()
  // A few at a time, as a fleet's servers come up over a while, not all in one millisecond.
  for (let index = 0; index < k; index += 100) {
    const batch = Array.from({length: Math.min(100, k - index)}, (_, offset) => index + offset)
    candidates.push(...(await Promise.all(batch.map(async (i) => start(await clientFor(i), `${run}-${Math.floor(i / perElection)}`, `c${i}`)))))
  }
  const rampMs = performance.now() - started
  await sleep(WARMUP_MS)
  const bystander = execa(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--probe', cluster.endpoints.join(',')], {reject: false})
  // Its own start (tsx, etcd3) is over when it says it is ready.
  await new Promise<void>((resolve) => bystander.stdout.once('data', () => resolve()))
  const client = await clientFor(0)
  const before = await counters()
  const from = performance.now()
  const handovers: number[] = []
  for (let round = 0; performance.now() - from < MEASURE_MS - 6000 && round < 5; round++) {
    handovers.push(await handover(client, `${run}-handover-${round}`))
    await sleep(3000)
  }
  await sleep(Math.max(0, MEASURE_MS - (performance.now() - from)))
  const after = await counters()
  const seconds = (performance.now() - from) / 1000
  bystander.kill('SIGTERM')
  const {requests, p50Ms, p99Ms} = JSON.parse((await bystander).stdout.split('\n').at(-1)!) as {requests: number; p50Ms: number; p99Ms: number}
  // A close that etcd timed out on leaves its lease to expire: nothing else here depends on it.
  for (let index = 0; index < candidates.length; index += 200)
    await Promise.all(candidates.slice(index, index + 200).map((candidate) => candidate.close().catch(() => undefined)))
  const rate = (field: keyof typeof before) => (after[field] - before[field]) / seconds
  // The candidates' own messages: less the bystander's (one each, over about the same time), not less the handovers' few.
  const candidatesMessages = rate('messages') - requests / seconds
  return {
    label,
    kind,
    members: cluster.members.length,
    k,
    perElection,
    rampS: round(rampMs / 1000, 1),
    startRetries,
    messagesPerS: round(rate('messages'), 1),
    perCandidate: round(candidatesMessages / k, 3),
    rangePerS: round(rate('reads'), 1),
    watchPerS: round(rate('watchRequests'), 1),
    keepalivePerS: round(rate('keepalives'), 1),
    proposalsPerS: round(rate('proposals'), 1),
    cpuMsPerS: round(rate('cpuMs'), 1),
    p50Ms,
    p99Ms,
    handoverMs: handovers.map((ms) => Math.round(ms)),
  }
}

/** Starts a candidate, as its server would try again after etcd timed out on it (counted: a sign of an etcd that cannot keep up). */
async function start(client: Etcd3, election: string, value: string): Promise<Candidate> {
  for (let attempt = 1; ; attempt++) {
    try {
      const candidate = await (kind === 'elect' ? electCandidate(client, election, value) : goCandidate(client, election, value))
      startedCandidates++
      return candidate
    } catch (error) {
      if (attempt >= 5 || !isTransient(error)) throw error
      startRetries++
      await sleep(500 * attempt)
    }
  }
}

/** What a standing campaign does, by elect's own code: a session, a place in the queue, a wait, and, leading, a watch on its key. */
async function electCandidate(client: Etcd3, name: string, value: string): Promise<Candidate> {
  const session = await Session.grant(client, {ttlMs: ELECT_TTL_MS, fenceLeadMs: fenceLeadMs(), callTimeoutMs: 10_000})
  const candidacy = await new Election(client, 'elect', name).enqueue(session, value)
  const stop = new AbortController()
  let led: () => void
  const leads = new Promise<void>((resolve) => (led = resolve))
  const leading = lead(candidacy, session, stop.signal, () => led())
  return {
    leads,
    async close() {
      stop.abort()
      await leading
      await candidacy.stopWatching()
      await session.close()
    },
  }
}

async function lead(candidacy: Candidacy, session: Session, signal: AbortSignal, led: () => void): Promise<void> {
  try {
    await candidacy.waitUntilLeader(signal)
    led()
    await session.fence()
    await candidacy.watchLeadership()
  } catch (error) {
    if (!(error instanceof AbortedError)) throw error
  }
}

/**
 * Go's concurrency.Election.Campaign on a concurrency.Session, as etcdctl elect runs them: a lease
 * renewed every TTL/3 on one stream, a key put if absent, then until nothing older is left: a read of
 * the newest key older than its own and a watch for that key's delete.
 */
async function goCandidate(client: Etcd3, name: string, value: string): Promise<Candidate> {
  const {ID: lease} = await client.leaseClient.leaseGrant({TTL: GO_TTL_S, ID: 0})
  const keepalive = await client.leaseClient.leaseKeepAlive()
  keepalive.on('error', () => undefined)
  keepalive.on('data', () => undefined)
  const renewing = setInterval(() => keepalive.write({ID: lease}), (GO_TTL_S * 1000) / 3)
  const prefix = `${name}/`
  const key = `${prefix}${BigInt(lease).toString(16)}`
  const put = await client.kv.txn({
    compare: [{key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0}],
    success: [{request_put: {key: Buffer.from(key), value: Buffer.from(value), lease}}],
    failure: [{request_range: {key: Buffer.from(key)}}],
  })
  const ownRevision = Number(put.header.revision)
  let watch: WatchStream | undefined
  let closed = false
  let led: () => void
  const leads = new Promise<void>((resolve) => (led = resolve))
  const waitDeletes = async () => {
    while (!closed) {
      const older = await client.kv.range({
        key: Buffer.from(prefix),
        range_end: Buffer.from(prefixEnd(prefix)),
        max_create_revision: ownRevision - 1,
        sort_target: 'Create',
        sort_order: 'Descend',
        limit: 1,
      })
      if (older.kvs.length === 0) return led()
      watch = await openWatchStream(client)
      const deleted = new Promise<void>((resolve) => {
        watch!.on('data', (response) => response.events?.some((event) => event.type === 'Delete') && resolve())
        watch!.on('error', () => resolve())
      })
      watch.write({create_request: {key: older.kvs[0].key, start_revision: Number(older.header.revision)}})
      await deleted
      cancelStream(watch)
    }
  }
  const waiting = waitDeletes().catch(() => undefined)
  return {
    leads,
    async close() {
      closed = true
      clearInterval(renewing)
      if (watch) cancelStream(watch)
      cancelStream(keepalive)
      await client.leaseClient.leaseRevoke({ID: lease}).catch(() => undefined)
      await waiting
    },
  }
}

/** A release with the successor queued: from the holder's revoke to the successor knowing it leads. */
async function handover(client: Etcd3, name: string): Promise<number> {
  const holder = await start(client, name, 'holder')
  await holder.leads
  const successor = await start(client, name, 'successor')
  // The successor has read and opened its watch, as a queued waiter of a fleet has long before.
  await sleep(2000)
  const releasedAt = performance.now()
  await holder.close()
  await successor.leads
  const ms = performance.now() - releasedAt
  await successor.close()
  return ms
}

/** The bystander: a linearizable read and a put, in turn, every 50 ms until SIGTERM; then what they took. */
async function probe(endpoints: string[]): Promise<never> {
  const client = await connect({endpoints, dialTimeoutMs: 5000, commandTimeoutMs: 10_000})
  await client.get('load-probe')
  const latencies: number[] = []
  let stopped = false
  process.once('SIGTERM', () => (stopped = true))
  console.log('ready')
  for (let turn = 0; !stopped && turn < 100_000; turn++) {
    const sentAt = performance.now()
    if (turn % 2) await client.put('load-probe').value(String(turn))
    else await client.get('load-probe')
    latencies.push(performance.now() - sentAt)
    await sleep(50)
  }
  latencies.sort((a, b) => a - b)
  const quantile = (q: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))], 2)
  console.log(JSON.stringify({requests: latencies.length, p50Ms: quantile(0.5), p99Ms: quantile(0.99)}))
  client.close()
  process.exit(0)
}

/** Every member's counters summed, but the proposals of one: every member commits every proposal. */
async function counters(): Promise<EtcdCounters> {
  const each = await Promise.all(cluster.endpoints.map(etcdCounters))
  const total = {...each[0]}
  for (const member of each.slice(1))
    for (const field of Object.keys(total) as Array<keyof EtcdCounters>) if (field !== 'proposals') total[field] += member[field]
  return total
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits
}
