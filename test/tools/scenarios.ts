// Fault scenarios against real etcd processes, shared by test/faults/fault-trials.ts (one randomized trial
// each) and the chaos runner (many). In each trial a holder runs a recorder under run-if-leader, a
// rival waits with --wait forever (and, where the scenario says so, a campaign queues behind it), a
// fault hits, and the verdict says whether the two commands ever overlapped, by how much they
// certainly did not (the margin), whether a holder that should have kept leading ran its full
// length, and whether every exit was the documented one.
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa, type ResultPromise} from 'execa'
import {STALENESS_BOUND_MS} from '../../src/election/watch.js'
import {SAFETY_MARGIN_MS} from '../../src/lease/fence.js'
import {leaseIdOfHex} from '../../src/lease/leases.js'
import {type Cluster, startCluster} from '../harness/etcd.js'
import {byMark, Observer} from '../harness/observer.js'
import {fakeClock} from '../harness/faketime.js'
import {TcpProxy} from '../harness/proxy.js'
import {
  electCommandLine,
  electProcess,
  environOf,
  freezeTree,
  listProcesses,
  readEvents,
  recorder,
  signalGroup,
  sleep,
  thaw,
  waitFor,
  withWitness,
  witnessOf,
} from '../harness/processes.js'

/**
 * How soon after the holder's end a queued waiter's command must start, and a queued campaign must
 * be elected after the leader ahead of it steps down: a waiter learns of the change within STALENESS_BOUND_MS
 * even if its watch stalled, plus its own start (lease, marker, guard) on two busy cores.
 */
export const HANDOVER_BOUND_MS = STALENESS_BOUND_MS + 500

/**
 * How much later than its fence promises (SAFETY_MARGIN_MS, plus --kill-grace for a job that dies on
 * its kill signal) a holder's job may die before its lease could expire: elect's fence timer and the
 * guard's 50 ms watch, late on two busy cores, and the observer's 10 ms scans. It is the part of the
 * safety margin that a trial may spend; a fence that counts the lease valid 500 ms too long spends more.
 */
export const FENCE_LATENESS_ALLOWANCE_MS = 400

export interface Trial {
  ttlS: number
  killGraceS: number
  /** When the fault hits, after the rival has queued. */
  faultAtMs: number
  /** How long a fault with a duration (partition, freeze, restart) lasts. */
  faultForMs: number
  /** The holder's command ignores SIGTERM and keeps a child, so only SIGKILL of the group stops it. */
  ignoreTerm: boolean
  /** How the holder's job is written: plain, or with its recorder outside the command's process group. */
  shape: keyof typeof SHAPES
  /**
   * Who waits: elect, or a candidate that is not elect and starts the moment the holder's key is gone
   * (where only elect removes that key: not where the fault takes it from outside).
   */
  rival: 'elect' | 'etcdctl lock' | 'etcdctl elect'
  /**
   * --holders N (absent: 1): N - 1 companions hold beside the holder from before the fault to the
   * end, so the rival may start only once the holder's job is dead, or N + 1 would run at once.
   */
  holders?: number
}

/** Why a scenario cannot run on this machine, if it cannot: a job moved to another cgroup needs root and cgroup2. */
export function cannotRunHere(scenario: Scenario): string | undefined {
  if (scenario.shape === 'another cgroup' && (process.getuid?.() !== 0 || !cgroup2Mount())) return 'a job that moves to another cgroup needs root and cgroup2'
  return undefined
}

/** Whether a scenario can run with several holders: a campaign holds alone, and only elect agrees on N. */
export function allowsHolders(scenario: Scenario): boolean {
  return !scenario.campaign && !scenario.standing && !scenario.judgedByWrites
}

/** Ways a job leaves the command's process group (see test/faults/whole-job.test.ts), each around `argv`. */
export const SHAPES = {
  plain: (argv: string[]) => argv,
  'timeout(1) in a shell': (argv: string[]) => ['sh', '-c', 'timeout 300 "$@"', 'shape', ...argv],
  'setsid -w': (argv: string[]) => ['setsid', '-w', ...argv],
  'set -m': (argv: string[]) => ['bash', '-c', 'set -m; "$@" & wait $!', 'shape', ...argv],
  // The daemon runs on its own; the command waits until the daemon's recorder has recorded its end
  // (one that waited for the finish file too could end first, and its end stop the daemon early).
  'a double-forked daemon': (argv: string[], log: string) => [
    'sh',
    '-c',
    `(setsid "$@" &); until grep -q '^end ' '${log}' 2> /dev/null; do sleep 0.05; done`,
    'shape',
    ...argv,
  ],
  // As root, a job that puts a step of its own under another cgroup (cgexec, a write to cgroup.procs),
  // in a session of its own: outside the job's cgroup and its process group (runTrial makes the cgroup).
  'another cgroup': (argv: string[], log: string) => [
    'setsid',
    '-w',
    'sh',
    '-c',
    'echo $$ > "$0/cgroup.procs" || exit 99; exec "$@"',
    foreignCgroup(log),
    ...argv,
  ],
}

/** Where cgroup2 is mounted, if it is (hybrid layouts mount it at /sys/fs/cgroup/unified). */
function cgroup2Mount(): string | undefined {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((line) => line.includes(' - cgroup2 '))
    ?.split(' ')[4]
}

/** The cgroup a trial's 'another cgroup' job moves into: one per trial, beside the root's. */
function foreignCgroup(log: string): string {
  return join(cgroup2Mount() ?? '/nonexistent', `elect-chaos-${basename(dirname(log))}`)
}

export interface TrialOptions {
  /** `etcdctl`: the holder is `etcdctl lock` instead of elect, a stand-in that lacks elect's guard. */
  holder?: 'elect' | 'etcdctl'
  /** The handover bound to hold the trial to (HANDOVER_BOUND_MS by default). */
  handoverBoundMs?: number
  /** The rival's and the campaign's watches hear nothing: every handover rests on their reads. */
  deafWatches?: boolean
  /** Where the holder's job writes (see Scenario.judgedByWrites), without --fenced: a stand-in that lacks fencing. */
  unfencedWriter?: boolean
}

interface Context {
  cluster: Cluster
  trial: Trial
  name: string
  holder: ResultPromise
  holderLease: string
  holderKey: string
  proxy?: TcpProxy
  /** etcdctl against the rival's endpoints, as root where auth is on. */
  etcdctl(args: string[]): Promise<string>
  /** The holder's wall clock, where the scenario gives it one to step. */
  clock?: ReturnType<typeof fakeClock>
  /** Whether the rival's command has started. */
  rivalStarted(): boolean
}

export interface Scenario {
  members: 1 | 3
  /** Whether the fault ends the holder's leadership; if not, the holder must run to its end. */
  loses: boolean
  /** The holder's documented exit status. */
  holderExit: number
  /**
   * The fault itself removes the holder's key (revoke, delete): a candidate that is not elect starts at
   * once, and no holder could keep apart from it, so such rivals and the ordering check sit out.
   */
  keyTakenFromOutside?: boolean
  /** It compacts etcd's history: etcdctl's own waits fail then (required revision has been compacted). */
  compacts?: boolean
  /** Standing: the leading campaign's documented exit status. */
  campaignExit?: number
  /** The holder connects through a proxy (for a partition) or to one member only. */
  holderEndpoints?: 'proxy' | 'first-member'
  /** How long a fault with a duration lasts, in TTLs or in seconds. */
  faultForTtls?: [number, number]
  faultForSeconds?: [number, number]
  /**
   * The fault hits as the holder hands over, faultAtMs after its command was told to finish: during
   * its release, the waiter's claim, or between the claim and the waiter's start. The handover may
   * then take up to a TTL (a release that etcd never applied leaves the key to its lease).
   */
  atHandover?: boolean
  /** A campaign queues behind the rival and must be elected when the rival steps down. */
  campaign?: boolean
  /** The holder's elect runs under this wrapper, as a crontab line's `timeout -s KILL ...`: the holder's pid is the wrapper's. */
  holderWrap?: string[]
  /** The holder's job has this shape, whatever the trial drew. */
  shape?: keyof typeof SHAPES
  /** etcd's backend quota, past which it raises the NOSPACE alarm. */
  quotaBytes?: number
  /** Auth on: the holder logs in as a user of its own (`holder`), the rivals as `rival`, the harness as root; both users' role grants elect/. */
  auth?: boolean
  /** The holder's wall clock is libfaketime's (Context.clock), for the fault to step. */
  holderClock?: boolean
  /**
   * The fault stops the holder's whole job with it, so their processes overlap by design: what must
   * not is their writes. The holder's job writes to etcd with elect put --fenced in a loop, the rival
   * once as it starts; the verdict's overlap is a write of the holder's that etcd applied after its
   * leader key was gone.
   */
  judgedByWrites?: boolean
  /** What else must hold of the trial once it is over: problems, if any. */
  afterwards?(context: Context & {holderStderr: string}): Promise<string[]>
  /**
   * Standing leadership: the holder and the rival are the same job attached to the campaigns of two
   * machines; the holder's campaign leads, and the fault hits it (`holder` in the context).
   */
  standing?: boolean
  fault(context: Context): Promise<void>
}

export const SCENARIOS: Record<string, Scenario> = {
  'lease revoked': {
    members: 1,
    loses: true,
    holderExit: 75,
    keyTakenFromOutside: true,
    fault: async ({etcdctl, holderLease}) => void (await etcdctl(['lease', 'revoke', holderLease])),
  },
  'key deleted': {
    members: 1,
    loses: true,
    holderExit: 75,
    keyTakenFromOutside: true,
    fault: async ({etcdctl, holderKey}) => void (await etcdctl(['del', holderKey])),
  },
  partition: {
    members: 1,
    loses: true,
    holderExit: 75,
    holderEndpoints: 'proxy',
    faultForTtls: [1.2, 2],
    fault: async ({proxy, trial}) => {
      await proxy!.cut()
      await sleep(trial.faultForMs)
      await proxy!.heal()
    },
  },
  'elect SIGKILLed': {
    members: 1,
    loses: true,
    holderExit: 128 + 9,
    fault: async ({holder}) => void holder.kill('SIGKILL'),
  },
  'elect frozen': {
    members: 1,
    loses: true,
    holderExit: 75,
    faultForTtls: [2, 2.5],
    fault: async ({holder, trial}) => {
      holder.kill('SIGSTOP')
      await sleep(trial.faultForMs)
      holder.kill('SIGCONT')
    },
  },
  'the raft leader dies': {
    members: 3,
    loses: false,
    holderExit: 0,
    fault: async ({cluster}) => (await raftStatus(cluster)).leader.kill(),
  },
  'a follower dies': {
    members: 3,
    loses: false,
    holderExit: 0,
    fault: async ({cluster}) => (await raftStatus(cluster)).followers[0].kill(),
  },
  'the raft leader moves': {
    members: 3,
    loses: false,
    holderExit: 0,
    fault: async ({cluster}) => {
      const {leader, followers} = await raftStatus(cluster)
      await execa(cluster.binaries.etcdctl, [`--endpoints=${leader.clientUrl}`, 'move-leader', followers[0].id], {timeout: 10_000, env: {ETCDCTL_API: '3'}})
    },
  },
  'an etcd member frozen': {
    members: 3,
    loses: false,
    holderExit: 0,
    faultForSeconds: [1, 2.5],
    fault: async ({cluster, trial}) => {
      const {leader} = await raftStatus(cluster)
      leader.freeze()
      await sleep(trial.faultForMs)
      leader.thaw()
    },
  },
  'its only member dies': {
    members: 3,
    loses: true,
    holderExit: 75,
    holderEndpoints: 'first-member',
    fault: async ({cluster}) => cluster.members[0].kill(),
  },
  'etcd restarted': {
    members: 1,
    loses: false,
    holderExit: 0,
    faultForSeconds: [0.05, 0.3],
    fault: async ({cluster, trial}) => cluster.restart(cluster.members[0], trial.faultForMs),
  },
  'resign from elsewhere': {
    members: 1,
    loses: true,
    holderExit: 75,
    fault: async ({cluster, name}) => {
      await execa(...electProcess('resign', name, '--value', 'holder', '--timeout', '20s'), {env: {ELECT_ENDPOINTS: cluster.endpoints.join(',')}})
    },
  },
  'compaction, then etcd restarted': {
    members: 1,
    loses: false,
    holderExit: 0,
    faultForSeconds: [0.05, 0.3],
    campaign: true,
    compacts: true,
    fault: async ({cluster, trial}) => {
      await cluster.compact()
      await cluster.restart(cluster.members[0], trial.faultForMs)
    },
  },
  'compaction, then the raft leader dies': {
    members: 3,
    loses: false,
    holderExit: 0,
    campaign: true,
    compacts: true,
    fault: async ({cluster}) => {
      await cluster.compact()
      await (await raftStatus(cluster)).leader.kill()
    },
  },
  'rolling restart with compaction': {
    members: 3,
    loses: false,
    holderExit: 0,
    faultForSeconds: [6, 8],
    campaign: true,
    compacts: true,
    fault: async ({cluster, trial}) => {
      const started = Date.now()
      for (const [index, member] of cluster.members.entries()) {
        await cluster.compact()
        await cluster.restart(member, 200)
        await sleep(started + ((index + 1) * trial.faultForMs) / cluster.members.length - Date.now())
      }
    },
  },
}

// The field: what wraps elect in a crontab, a root job's cgroups, etcd as operators keep it, clocks.
Object.assign(SCENARIOS, {
  "elect's process group SIGKILLed, as timeout -s KILL does": {
    members: 1,
    loses: true,
    holderExit: 128 + 9,
    holderWrap: ['timeout', '-s', 'KILL', '3600'],
    // timeout(1) takes SIGALRM for its limit reached: it SIGKILLs elect, then its own process group.
    fault: async ({holder}) => void holder.kill('SIGALRM'),
  },
  'a job that moved to another cgroup, resigned': {
    members: 1,
    loses: true,
    holderExit: 75,
    shape: 'another cgroup',
    fault: SCENARIOS['resign from elsewhere'].fault,
  },
  'etcd full (NOSPACE) as the holder hands over': {
    members: 1,
    loses: false,
    holderExit: 0,
    atHandover: true,
    quotaBytes: 4 * 1024 * 1024,
    faultForSeconds: [1, 3],
    fault: async ({cluster, trial}) => {
      await fill(cluster)
      await sleep(trial.faultForMs)
      await free(cluster)
    },
    afterwards: async ({etcdctl, name, holderStderr}) => {
      const record = await holderRecord(etcdctl, name)
      if (record?.outcome === 'succeeded') return []
      if (record?.outcome === 'running' && /^elect: the end of this run was not recorded in etcd: etcd's database is full/m.test(holderStderr)) return []
      return [`the holder's record says ${record?.outcome ?? 'nothing'} and it said: ${holderStderr || 'nothing'}`]
    },
  },
  'a role revoked mid-run': {
    members: 1,
    loses: true,
    holderExit: 75,
    auth: true,
    fault: async ({etcdctl}) => void (await etcdctl(['user', 'revoke-role', 'holder', 'elect-rw'])),
    // Stopped for what happened, not by its fence later (etcd 3.5 refuses the keepalives too; 3.4 does not).
    afterwards: async ({holderStderr}) =>
      /^elect: lost leadership of \S+: .*etcd denies this user access/m.test(holderStderr)
        ? []
        : [`the holder did not say its role was revoked: ${holderStderr}`],
  },
  // Elect, the guard and the job frozen together past the lease (a paused VM), resumed once the rival
  // has led and written: the job runs on a moment after it wakes, and its writes are refused.
  'the whole holder frozen past its lease': {
    members: 1,
    loses: true,
    holderExit: 75,
    judgedByWrites: true,
    fault: async ({holder, holderKey, etcdctl, rivalStarted}) => {
      const pids = freezeTree(holder.pid!)
      try {
        await waitFor(async () => (await etcdctl(['get', holderKey, '--keys-only'])).trim() === '', 60_000, 100)
        await waitFor(rivalStarted, 30_000)
      } finally {
        thaw(pids)
      }
    },
  },
  'the wall clock stepped': {
    // An NTP step, forward or back, of up to an hour.
    members: 1,
    loses: false,
    holderExit: 0,
    holderClock: true,
    faultForSeconds: [-3600, 3600],
    fault: async ({clock, trial}) => clock!.write(`${trial.faultForMs >= 0 ? '+' : ''}${(trial.faultForMs / 1000).toFixed(3)}`),
    afterwards: async ({etcdctl, name}) => {
      const record = await holderRecord(etcdctl, name)
      const took = record?.durationMs ?? Number.NaN
      return took >= 0 && took < 120_000 ? [] : [`the holder's record says it ran ${took} ms`]
    },
  },
} satisfies Record<string, Scenario>)

/**
 * How many of the holder's writes (witness/<name>/holder-<n>) etcd applied after its leader key was
 * gone: read at each write's revision, newest first, until one found the key as the job had it (a key
 * once gone never comes back with its create revision, so every older write was made while it held).
 */
async function staleWritesOf(etcdctl: Context['etcdctl'], name: string, holderKey: string, holderRevision: number): Promise<number> {
  type Kvs = {kvs?: Array<{mod_revision: number; create_revision: number}>}
  const written = (JSON.parse(await etcdctl(['get', '--prefix', `witness/${name}/holder-`, '-w', 'json'])) as Kvs).kvs ?? []
  let stale = 0
  for (const revision of written.map((kv) => Number(kv.mod_revision)).sort((a, b) => b - a)) {
    const [held] = (JSON.parse(await etcdctl(['get', holderKey, '--rev', String(revision), '-w', 'json'])) as Kvs).kvs ?? []
    if (held && Number(held.create_revision) === holderRevision) break
    stale++
  }
  return stale
}

/** The holder's run record, as etcd has it. */
async function holderRecord(etcdctl: Context['etcdctl'], name: string): Promise<{outcome: string; durationMs: number | null} | undefined> {
  const values = (await etcdctl(['get', '--prefix', `elect/${name}:runs/`, '--print-value-only'])).split('\n').filter(Boolean)
  return values.map((value) => JSON.parse(value)).find((record) => record.value === 'holder')
}

/** Puts half-megabyte values until etcd raises its NOSPACE alarm (a 4 MB quota takes a few). */
async function fill(cluster: Cluster): Promise<void> {
  const value = 'x'.repeat(512 * 1024)
  for (let index = 0; index < 64; index++) {
    const put = await execa(cluster.binaries.etcdctl, [`--endpoints=${cluster.endpoints.join(',')}`, 'put', `filler/${index}`], {
      input: value,
      reject: false,
      env: {ETCDCTL_API: '3'},
    })
    if (put.exitCode !== 0) return
  }
  throw new Error('etcd took 32 MB past a 4 MB quota without an alarm')
}

/** What an operator does about NOSPACE: delete, compact, defragment, disarm. */
async function free(cluster: Cluster): Promise<void> {
  const etcdctl = (args: string[]) =>
    execa(cluster.binaries.etcdctl, [`--endpoints=${cluster.endpoints.join(',')}`, ...args], {env: {ETCDCTL_API: '3'}, timeout: 30_000})
  await etcdctl(['del', '--prefix', 'filler/'])
  const revision = /"revision":(\d+)/.exec((await etcdctl(['endpoint', 'status', '-w', 'json'])).stdout)![1]
  await etcdctl(['compact', revision])
  await etcdctl(['defrag'])
  await etcdctl(['alarm', 'disarm'])
}

/** Auth on, with a user for the holder and one for the rivals, whose role grants elect/, and root for the harness. */
function enableAuth(cluster: Cluster): void {
  for (const args of [
    ['user', 'add', 'root:root-pw'],
    ['user', 'grant-role', 'root', 'root'],
    ['role', 'add', 'elect-rw'],
    ['role', 'grant-permission', 'elect-rw', '--prefix=true', 'readwrite', 'elect/'],
    ['user', 'add', 'holder:holder-pw'],
    ['user', 'grant-role', 'holder', 'elect-rw'],
    ['user', 'add', 'rival:rival-pw'],
    ['user', 'grant-role', 'rival', 'elect-rw'],
    ['auth', 'enable'],
  ])
    cluster.etcdctl(args)
}

const HANDOVER_FAULTS: Record<string, Pick<Scenario, 'members' | 'fault' | 'faultForSeconds'>> = {
  'the raft leader dies': SCENARIOS['the raft leader dies'],
  'etcd restarted': SCENARIOS['etcd restarted'],
  'an etcd member frozen': SCENARIOS['an etcd member frozen'],
}
for (const [label, scenario] of Object.entries(HANDOVER_FAULTS))
  SCENARIOS[`${label} as the holder hands over`] = {...scenario, loses: false, holderExit: 0, atHandover: true}

/**
 * The faults that end a standing leadership, hitting the leading campaign instead of a run-if-leader:
 * its attached jobs must all stop (exit 75), and the same job on the next leader start only after.
 */
const STANDING_FAULTS: Record<string, Pick<Scenario, 'fault' | 'holderEndpoints' | 'faultForTtls' | 'keyTakenFromOutside' | 'campaignExit'>> = {
  'the campaign SIGKILLed': {...SCENARIOS['elect SIGKILLed'], campaignExit: 137},
  'the campaign frozen': {...SCENARIOS['elect frozen'], campaignExit: 75},
  'the campaign cut off': {...SCENARIOS.partition, campaignExit: 75},
  'its lease revoked': {...SCENARIOS['lease revoked'], campaignExit: 75},
  'its key deleted': {...SCENARIOS['key deleted'], campaignExit: 75},
  'a resign from elsewhere': {...SCENARIOS['resign from elsewhere'], campaignExit: 0},
  'SIGTERM, as systemd stops it': {fault: async ({holder}) => void holder.kill('SIGTERM'), campaignExit: 0},
}
for (const [label, scenario] of Object.entries(STANDING_FAULTS))
  SCENARIOS[`standing: ${label}`] = {...scenario, members: 1, loses: true, holderExit: 75, standing: true}
// And the faults a standing leadership must survive: the attached job runs to its end, then the
// leading campaign is stopped (exit 0) so that the rival's campaign leads and its job runs.
for (const label of ['the raft leader dies', 'compaction, then etcd restarted', 'rolling restart with compaction'])
  SCENARIOS[`standing: ${label}`] = {...SCENARIOS[label], campaign: false, standing: true, campaignExit: 0}

export interface Verdict {
  scenario: string
  trial: Trial
  /** Seen running at once, or not proven apart, or the holder's key gone while its job lived. */
  overlap: boolean
  /** What showed the rival's start after the holder's end: the polls (see marginMs), or the witness lock alone. */
  provenApartBy?: 'polls' | 'lock'
  /** A holder that should have kept leading did not run its full length or exit 0. */
  falseKill: boolean
  /** Scenario.judgedByWrites: the holder's writes etcd applied after its leader key was gone, and those it refused. */
  staleWrites?: number
  refusedWrites?: number
  /** A strict lower bound of the time between the holder's death and the rival's first instant, where the polls showed one. */
  marginMs?: number
  /** The earliest moment the server could expire the holder's lease, less the holder's death (a lower bound). */
  expiryMarginMs?: number
  /** expiryMarginMs less what the fence promises for this trial's job (see FENCE_LATENESS_ALLOWANCE_MS). */
  fenceSlackMs?: number
  /** Holder's death to the rival's start, as first seen (an upper bound): the handover. */
  handoverMs?: number
  /** The end of the rival's command to the queued campaign's election, where there is one. */
  campaignMs?: number
  holderExit?: number
  rivalExit?: number
  holderRevision: number
  rivalRevision?: number
  problems: string[]
}

/**
 * Timings drawn at random within what the scenario and elect allow. A leadership that must outlive
 * etcd being unable to renew (a raft failover, a member restarting) needs a fencing window (TTL -
 * grace - 1 s) of at least 1.5 times that outage, since the last renewal may be a third of a window
 * old when it starts (README, "Choosing --ttl"). These outages last about 1 s here, longer on a busy
 * machine: a 2.5 s window was once too short for a restart under load, and a 3.5 s one for compaction
 * then a restart at a load of 13 (CI beside two chaos runners), so there windows start at elect's
 * default, 6 s. Where the holder is meant to lose, at 2.5 s: in 560 trials with two cores far
 * oversubscribed (a load of 13-17), a 1.7 s window once stopped a job that nothing had cut off,
 * its renewals late (README, "Choosing --ttl").
 */
export function randomTrial(scenario: Scenario, random = Math.random): Trial {
  const between = (low: number, high: number) => low + (high - low) * random()
  const pick = <T>(choices: T[]) => choices[Math.floor(random() * choices.length)]
  // One trial in five runs elect's defaults (--ttl 10s, --kill-grace 3s), as most users will.
  const defaults = random() < 0.2
  const ttlS = defaults ? 10 : Math.round(scenario.loses ? between(4, 6) : between(8, 10))
  const [low, high] = scenario.faultForTtls?.map((ttls) => ttls * ttlS) ?? scenario.faultForSeconds ?? [0, 0]
  const minWindowS = scenario.loses ? 2.5 : 6
  // A rival that is not elect has no token to write with.
  const foreignRivals = !scenario.keyTakenFromOutside && !scenario.standing && !scenario.compacts && !scenario.judgedByWrites
  return {
    ttlS,
    killGraceS: defaults ? 3 : Math.round(between(0.5, Math.min(2, ttlS - 1 - minWindowS)) * 10) / 10,
    faultAtMs: Math.round(scenario.atHandover ? between(0, 400) : between(200, 1500)),
    faultForMs: Math.round(between(low, high) * 1000),
    ignoreTerm: random() < 0.5,
    // A move to another cgroup needs root: only the scenario that is about it asks for one.
    shape:
      scenario.shape ??
      (random() < 0.5 ? 'plain' : pick(Object.keys(SHAPES).filter((shape) => shape !== 'plain' && shape !== 'another cgroup') as Array<keyof typeof SHAPES>)),
    rival: foreignRivals && random() < 0.5 ? pick(['etcdctl lock', 'etcdctl elect'] as const) : 'elect',
  }
}

export async function runTrial(scenarioName: string, trial: Trial, options: TrialOptions = {}): Promise<Verdict> {
  const scenario = SCENARIOS[scenarioName]
  const electHolder = options.holder !== 'etcdctl'
  const bound = options.handoverBoundMs ?? HANDOVER_BOUND_MS
  const cluster = await startCluster(scenario.members, scenario.quotaBytes ? {extraArgs: ['--quota-backend-bytes', String(scenario.quotaBytes)]} : {})
  const dir = mkdtempSync(join(tmpdir(), 'elect-chaos-'))
  let movedTo: string | undefined
  const processes: ResultPromise[] = []
  let proxy: TcpProxy | undefined
  let observer: Observer | undefined
  const marks: string[] = []
  const groups: number[] = []
  const problems: string[] = []
  try {
    if (scenario.auth) enableAuth(cluster)
    // The harness reads as root where auth is on; each side logs in as its own user.
    const asRoot = scenario.auth ? ['--user', 'root:root-pw'] : []
    const loginOf = (side: 'holder' | 'rival') => (scenario.auth ? {ELECT_USER: side, ELECT_PASSWORD: `${side}-pw`} : {})
    const clock = scenario.holderClock ? fakeClock(join(dir, 'clock')) : undefined
    if (scenario.holderEndpoints === 'proxy') proxy = await TcpProxy.start(cluster.endpoints[0])
    const holderEndpoints =
      scenario.holderEndpoints === 'proxy' ? [proxy!.endpoint] : scenario.holderEndpoints === 'first-member' ? [cluster.endpoints[0]] : cluster.endpoints
    const rivalEndpoints = scenario.holderEndpoints === 'first-member' ? cluster.endpoints.slice(1) : cluster.endpoints
    const name = `chaos-${process.pid}-${Date.now()}`
    // Every process of each side's command carries its mark (see byMark), whatever group it is in.
    const [holderMark, rivalMark] = [`ELECT_TEST_ROLE=holder-${name}`, `ELECT_TEST_ROLE=rival-${name}`]
    marks.push(holderMark, rivalMark)
    const validity = join(dir, 'validity')
    const timing = ['--ttl', `${trial.ttlS}s`]
    const deaf = {NODE_OPTIONS: `--require ${join(dirname(fileURLToPath(import.meta.url)), '../harness/inject/deaf-watch.cjs')}`}
    // Two machines: each a runtime directory, where a standing scenario's campaigns lend their leadership.
    const machine = (side: 'holder' | 'rival') => ({ELECT_RUNTIME_DIR: join(dir, `${side}-machine`)})
    const start = (endpoints: string[], args: string[], waiting = false, side: 'holder' | 'rival' = waiting ? 'rival' : 'holder', wrap: string[] = []) => {
      const [file, electArgs] = electProcess(...args)
      const argv: [string, string[]] = wrap.length > 0 ? [wrap[0], [...wrap.slice(1), file, ...electArgs]] : [file, electArgs]
      const child = execa(...argv, {
        reject: false,
        stdin: 'ignore',
        timeout: 120_000,
        env: {
          ELECT_ENDPOINTS: endpoints.join(','),
          ...machine(side),
          ...loginOf(side),
          ...(waiting && options.deafWatches && deaf),
          ...(side === 'holder' && {ELECT_TEST_VALIDITY: validity, ...clock?.env}),
        },
      })
      processes.push(child)
      return child
    }
    // Asynchronous, so that nothing blocks the observer's polls.
    const etcdctl = async (args: string[]) =>
      (await execa(cluster.binaries.etcdctl, [`--endpoints=${rivalEndpoints.join(',')}`, ...asRoot, ...args], {timeout: 10_000, env: {ETCDCTL_API: '3'}}))
        .stdout
    const candidates = async () => (await etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only', '--sort-by=CREATE'])).split('\n').filter(Boolean)

    // A holder that loses runs until stopped. One that keeps leading runs until told to finish, a TTL
    // after the fault ended: however long the rival took to start and the fault to do its work.
    const holderRunS = scenario.loses && electHolder ? 120 : scenario.loses ? (trial.faultAtMs + trial.faultForMs) / 1000 + 2 * trial.ttlS : 120
    let leadingCampaign: ResultPromise | undefined
    if (scenario.standing) {
      leadingCampaign = start(holderEndpoints, ['campaign', name, ...timing, '--value', 'holder'])
      if (!(await waitFor(async () => (await candidates()).length === 1, 15_000))) throw new Error("the holder's campaign never led")
      void start(rivalEndpoints, ['campaign', name, ...timing, '--value', 'rival'], false, 'rival')
      if (!(await waitFor(async () => (await candidates()).length === 2, 15_000))) throw new Error("the rival's campaign never queued")
    }
    const holders = trial.holders ?? 1
    const job = [...(scenario.standing ? ['--job', 'chaos'] : []), ...(holders > 1 ? ['--holders', String(holders)] : [])]
    const holderLog = join(dir, 'holder')
    const finishFile = join(dir, 'holder-may-finish')
    const holderRecorder = recorder(holderLog, holderRunS, trial.ignoreTerm, scenario.loses ? undefined : finishFile, 'inherited')
    // A stepped clock is elect's to meet: the recorder's timestamps, which the verdict reads, stay true.
    const unfaked = scenario.holderClock ? ['-u', 'LD_PRELOAD'] : []
    const elect = electCommandLine()
    const fenced = options.unfencedWriter ? '' : '--fenced'
    // The holder's writer goes on as long as its job does; with ignoreTerm, through its kill grace.
    const holderWrites = (argv: string[]) =>
      scenario.judgedByWrites
        ? [
            'sh',
            '-c',
            `(${trial.ignoreTerm ? "trap '' TERM; " : ''}n=0; while :; do n=$((n + 1)); ${elect} put ${fenced} witness/${name}/holder-$n "$ELECT_REV" 2>/dev/null; echo $? >> ${join(dir, 'holder-writes')}; done) & exec "$@"`,
            'writer',
            ...argv,
          ]
        : argv
    const holderCommand = ['env', ...unfaked, holderMark, ...withWitness(holderLog, holderWrites(SHAPES[trial.shape](holderRecorder, holderLog)), holders)]
    if (trial.shape === 'another cgroup') {
      if (process.getuid?.() !== 0 || !cgroup2Mount()) throw new Error('a job that moves to another cgroup needs root and cgroup2')
      mkdirSync((movedTo = foreignCgroup(holderLog)))
    }
    const holder = electHolder
      ? start(
          holderEndpoints,
          ['run-if-leader', name, ...job, ...timing, '--kill-grace', `${trial.killGraceS}s`, '--value', 'holder', '--', ...holderCommand],
          false,
          'holder',
          scenario.holderWrap,
        )
      : // A session of its own, so that cleanup can end what etcdctl leaves running; no pipes, which
        // what it leaves running would hold open.
        execa(
          'setsid',
          [cluster.binaries.etcdctl, `--endpoints=${holderEndpoints.join(',')}`, 'lock', '--ttl', String(trial.ttlS), `elect/${name}`, '--', ...holderCommand],
          {
            reject: false,
            stdio: 'ignore',
            env: {ETCDCTL_API: '3'},
            timeout: 120_000,
          },
        )
    if (!electHolder) {
      processes.push(holder)
      groups.push(holder.pid!)
    }
    if (!(await waitFor(() => readEvents(holderLog).length > 0, 15_000))) throw new Error('the holder never started its command')
    const [holderPid, holderRevision] = readEvents(holderLog)[0].extra.split(' ').map(Number)
    groups.push(holderPid)
    // Several holders: the companions hold beside it, through the fault, until the trial has judged.
    const companionsFinish = join(dir, 'companions-may-finish')
    const companions = Array.from({length: holders - 1}, (_, index) => {
      const log = join(dir, `companion-${index}`)
      const mark = `ELECT_TEST_ROLE=companion-${index}-${name}`
      marks.push(mark)
      const command = ['env', mark, ...withWitness(log, recorder(log, 120, false, companionsFinish, 'inherited'), holders)]
      return {
        log,
        elect: start(
          rivalEndpoints,
          ['run-if-leader', name, ...job, ...timing, '--kill-grace', `${trial.killGraceS}s`, '--value', `companion-${index}`, '--', ...command],
          false,
          'rival',
        ),
      }
    })
    for (const companion of companions) {
      if (!(await waitFor(() => readEvents(companion.log).length > 0, 15_000))) throw new Error('a companion holder never started its command')
      groups.push(Number(readEvents(companion.log)[0].extra.split(' ')[0]))
    }

    const rivalLog = join(dir, 'rival')
    const rivalRecorder = recorder(rivalLog, 0.3, false, undefined, 'take', holders)
    const rivalCommand = [
      'env',
      rivalMark,
      ...(scenario.judgedByWrites
        ? [
            'sh',
            '-c',
            `${elect} put ${fenced} witness/${name}/rival "$ELECT_REV"; echo $? > ${join(dir, 'rival-write')}; exec "$@"`,
            'writer',
            ...rivalRecorder,
          ]
        : rivalRecorder),
    ]
    // etcdctl takes its user from the environment too, so that the shell of the `etcdctl elect` rival needs no flag.
    const etcdctlRival = (file: string, args: string[]) =>
      execa(file, args, {reject: false, stdin: 'ignore', env: {ETCDCTL_API: '3', ...(scenario.auth && {ETCDCTL_USER: 'rival:rival-pw'})}, timeout: 120_000})
    const rival =
      trial.rival === 'elect' || scenario.standing
        ? start(
            rivalEndpoints,
            ['run-if-leader', name, ...job, ...timing, '--kill-grace', `${trial.killGraceS}s`, '--value', 'rival', '--wait', 'forever', '--', ...rivalCommand],
            true,
          )
        : trial.rival === 'etcdctl lock'
          ? etcdctlRival(cluster.binaries.etcdctl, [
              `--endpoints=${rivalEndpoints.join(',')}`,
              'lock',
              '--ttl',
              String(trial.ttlS),
              `elect/${name}`,
              '--',
              ...rivalCommand,
            ])
          : etcdctlRival('sh', [
              '-c',
              ETCDCTL_ELECT_RIVAL,
              join(dir, 'rival.fifo'),
              cluster.binaries.etcdctl,
              rivalEndpoints.join(','),
              `elect/${name}`,
              ...rivalCommand,
            ])
    if (trial.rival !== 'elect' && !scenario.standing) processes.push(rival)
    observer = new Observer(byMark(holderMark), byMark(rivalMark))
    // Standing: the rival attaches to its machine's queued campaign, and has no key to wait for.
    if (scenario.standing) await sleep(500)
    else if (!(await waitFor(async () => (await candidates()).length === holders + 1, 30_000))) throw new Error('the rival never queued')
    let campaign: ResultPromise | undefined
    let campaignElectedAt: number | undefined
    if (scenario.campaign) {
      campaign = start(rivalEndpoints, ['campaign', name, ...timing, '--value', 'campaign', '--json'], true)
      campaign.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('"event":"elected"')) campaignElectedAt ??= Date.now()
      })
      if (!(await waitFor(async () => (await candidates()).length === 3, 30_000))) throw new Error('the campaign never queued')
    }
    const [holderKey] = await candidates()
    const holderLease = holderKey.split('/').at(-1)!
    // The ordering check's eyes: when etcd says the holder's key was deleted (the watch hears it no
    // sooner than it happened).
    let keyDeletedSeenAt: number | undefined
    const keyWatch = execa(cluster.binaries.etcdctl, [`--endpoints=${rivalEndpoints.join(',')}`, ...asRoot, 'watch', '--prefix', `elect/${name}`], {
      reject: false,
      stdin: 'ignore',
      env: {ETCDCTL_API: '3'},
      timeout: 120_000,
    })
    processes.push(keyWatch)
    let watched = ''
    // etcd's own view of several holders: how many of the job's running markers stood at once.
    const markers = new Set<string>()
    let mostMarkers = 0
    let linesSeen = 0
    keyWatch.stdout.on('data', (chunk: Buffer) => {
      watched += chunk.toString()
      const lines = watched.split('\n')
      if (lines.some((line, index) => line === holderKey && lines[index - 1] === 'DELETE')) keyDeletedSeenAt ??= Date.now()
      for (; linesSeen < lines.length - 1; linesSeen++) {
        const key = lines[linesSeen + 1]
        if (!key?.startsWith(`elect/${name}:running`)) continue
        if (lines[linesSeen] === 'PUT') markers.add(key)
        else if (lines[linesSeen] === 'DELETE') markers.delete(key)
        mostMarkers = Math.max(mostMarkers, markers.size)
      }
    })

    if (scenario.atHandover) writeFileSync(finishFile, '')
    await sleep(trial.faultAtMs)
    const aliveAtFault = scenario.atHandover || observer.poll()
    // What to say if it was not (a trial of the daemon shape once found it so, unexplained).
    const beforeFault = aliveAtFault
      ? ''
      : `; its log: ${readFileSync(holderLog, 'utf8').trim().replaceAll('\n', ' | ')}; elect ${holder.exitCode === null ? 'still running' : `had exited ${holder.exitCode}`}`
    const rivalStarted = () => readEvents(rivalLog).some((event) => event.event === 'start')
    const context: Context = {cluster, trial, name, holder: leadingCampaign ?? holder, holderLease, holderKey, proxy, etcdctl, clock, rivalStarted}
    await scenario.fault(context)
    const faultEndedAt = Date.now()
    if (!scenario.loses && !scenario.atHandover) {
      await sleep(trial.ttlS * 1000)
      writeFileSync(finishFile, '')
    }
    // A standing leadership that survived hands over only when its campaign stops: its handover is
    // timed from then, not from the job's end (the harness's own wait for elect's exit lies between).
    let campaignStoppedAt: number | undefined
    if (scenario.standing && !scenario.loses) {
      await holder
      campaignStoppedAt = Date.now()
      leadingCampaign!.kill('SIGTERM')
    }

    const [holderResult, rivalResult] = await Promise.all([holder, rival])
    observer.poll()
    writeFileSync(companionsFinish, '')
    for (const [index, companion] of companions.entries()) {
      const result = await companion.elect
      if (result.exitCode !== 0) problems.push(`companion holder ${index} exited ${result.exitCode ?? result.signal}: ${result.stderr}`)
      if (!readEvents(companion.log).some((event) => event.event === 'end')) problems.push(`companion holder ${index} did not run to its end`)
    }
    // Seen by etcd: more runs of the job at once than holders is an overlap, whatever the processes showed.
    const tooManyMarkers = mostMarkers > holders
    const exitOf = (result: {exitCode?: number; signal?: string}) => result.exitCode ?? (result.signal === 'SIGKILL' ? 137 : undefined)
    const holderExit = exitOf(holderResult)
    const rivalExit = exitOf(rivalResult)
    const rivalStart = readEvents(rivalLog).find((event) => event.event === 'start')
    if (rivalStart) groups.push(Number(rivalStart.extra.split(' ')[0]))
    const rivalRevision = rivalStart ? Number(rivalStart.extra.split(' ')[1]) : undefined
    const holderEnd = readEvents(holderLog).find((event) => event.event === 'end')
    const rivalEnd = readEvents(rivalLog).find((event) => event.event === 'end')

    if (!aliveAtFault) problems.push(`the holder's command was not running when the fault hit${beforeFault}`)
    if (observer.holderGoneAt === undefined) problems.push("the holder's group outlived the trial")
    if (!rivalStart) problems.push(`the rival never ran its command (exit ${rivalExit}): ${rivalResult.stderr}`)
    if (electHolder && holderExit !== scenario.holderExit) problems.push(`holder exited ${holderExit}, not ${scenario.holderExit}: ${holderResult.stderr}`)
    // etcdctl gives up on a request the fault made time out (its unlock, as the raft leader died or
    // froze during the handover: seen twice in 20 trials under load); how it exits after its command
    // ran is its own affair. elect must exit 0.
    const rivalGaveUp =
      scenario.atHandover && trial.rival !== 'elect' && rivalStart !== undefined && /request timed out|context deadline exceeded/.test(rivalResult.stderr)
    if (rivalExit !== 0 && !rivalGaveUp) problems.push(`rival exited ${rivalExit}: ${rivalResult.stderr}`)
    if (electHolder && (trial.rival === 'elect' || scenario.standing) && rivalRevision !== undefined && !(rivalRevision > holderRevision))
      problems.push(`rival ELECT_REV ${rivalRevision} is not above ${holderRevision}`)
    if (!scenario.loses && !scenario.atHandover && holderEnd && holderEnd.at < faultEndedAt) problems.push("the holder's command ended before the fault did")
    const handoverFrom = campaignStoppedAt ?? observer.holderGoneAt
    const handoverMs = observer.rivalSeenAt !== undefined && handoverFrom !== undefined ? observer.rivalSeenAt - handoverFrom : undefined
    const handoverBound = scenario.atHandover ? bound + trial.ttlS * 1000 : bound
    if (!scenario.loses && handoverMs !== undefined && handoverMs > handoverBound)
      problems.push(`the waiter started ${handoverMs} ms after the holder's end (bound ${handoverBound} ms)`)

    if (scenario.standing && leadingCampaign && scenario.campaignExit !== undefined) {
      const ended = await Promise.race([leadingCampaign, sleep(trial.ttlS * 1000 + 15_000).then(() => undefined)])
      const campaignExit = ended && exitOf(ended)
      if (campaignExit !== scenario.campaignExit)
        problems.push(`the leading campaign exited ${campaignExit ?? 'not at all'}, not ${scenario.campaignExit}: ${String(ended?.stderr ?? '')}`)
    }

    // The direct check: the holder's whole job was dead before the earliest moment the server could
    // expire the lease it ran under (the last acknowledged renewal's send time plus the TTL granted).
    const leaseId = leaseIdOfHex(holderLease)
    const validUntil = Math.max(
      ...(existsSync(validity) ? readFileSync(validity, 'utf8') : '')
        .split('\n')
        .filter((line) => line.startsWith(`${leaseId} `))
        .map((line) => Number(line.split(' ')[1])),
    )
    const expiryMarginMs = electHolder && Number.isFinite(validUntil) && observer.holderGoneAt !== undefined ? validUntil - observer.holderGoneAt : undefined
    // What the fence promises: a job that dies on its kill signal is dead --kill-grace plus the safety
    // margin before the lease could expire, one that ignores it (SIGKILL after the grace) the margin
    // before. A job dead later than that by more than a busy machine's lateness shows a fence that
    // counted its lease valid for too long; a margin above 0 alone would not (a fence 500 ms late left
    // every trial's margin above 1 s).
    const promisedMarginMs = SAFETY_MARGIN_MS + (trial.ignoreTerm ? 0 : trial.killGraceS * 1000)
    const fenceSlackMs = expiryMarginMs === undefined ? undefined : expiryMarginMs - promisedMarginMs
    // A job frozen with its holder outlives its lease by design: its writes are judged instead.
    const judgedByWrites = scenario.judgedByWrites === true
    let staleWrites: number | undefined
    let refusedWrites: number | undefined
    if (judgedByWrites) {
      staleWrites = await staleWritesOf(etcdctl, name, holderKey, holderRevision)
      refusedWrites = (existsSync(join(dir, 'holder-writes')) ? readFileSync(join(dir, 'holder-writes'), 'utf8') : '')
        .split('\n')
        .filter((status) => status === '3').length
      const rivalWrite = existsSync(join(dir, 'rival-write')) ? readFileSync(join(dir, 'rival-write'), 'utf8').trim() : 'none'
      if (rivalWrite !== '0') problems.push(`the rival's write exited ${rivalWrite}`)
    }
    if (electHolder && !judgedByWrites) {
      if (!Number.isFinite(validUntil)) problems.push("no validity of the holder's lease was traced")
      else if (observer.holderSeenAliveAt !== undefined && observer.holderSeenAliveAt > validUntil)
        problems.push(`the holder's job was alive ${observer.holderSeenAliveAt - validUntil} ms after its lease could have expired`)
      else if (expiryMarginMs === undefined || expiryMarginMs < 0) problems.push("the holder's job was not shown dead before its lease could expire")
      else if (fenceSlackMs! < -FENCE_LATENESS_ALLOWANCE_MS)
        problems.push(
          `the holder's job died ${expiryMarginMs} ms before its lease could expire, ${-fenceSlackMs!} ms later than its fence promises (${promisedMarginMs} ms)`,
        )
    }
    // The ordering check: no key went while a process of its job lived (a candidate that is not elect
    // starts the moment it goes). Where the fault takes the key from outside, it goes first by design.
    const orderingViolated =
      !scenario.keyTakenFromOutside && !judgedByWrites && keyDeletedSeenAt !== undefined && (observer.holderSeenAliveAt ?? 0) > keyDeletedSeenAt
    if (orderingViolated)
      problems.push(`the holder's key was deleted while its job lived: seen alive ${observer.holderSeenAliveAt! - keyDeletedSeenAt!} ms after`)

    if (scenario.afterwards) problems.push(...(await scenario.afterwards({...context, holderStderr: String(holderResult.stderr ?? '')})))
    // Whatever went wrong, an operator reads it as a line of elect's, never as gRPC's status text.
    for (const [who, stderr] of [
      ['holder', String(holderResult.stderr ?? '')],
      ['rival', trial.rival === 'elect' || scenario.standing ? String(rivalResult.stderr ?? '') : ''],
    ])
      if (/^elect: .*\b\d+ [A-Z_]+: /m.test(stderr)) problems.push(`the ${who} printed gRPC's status text: ${stderr}`)

    let campaignMs: number | undefined
    if (campaign) {
      await waitFor(() => campaignElectedAt !== undefined, bound + 5000)
      campaignMs = campaignElectedAt === undefined || !rivalEnd ? undefined : campaignElectedAt - rivalEnd.at
      if (campaignMs === undefined) problems.push('the queued campaign was never elected')
      else if (campaignMs > bound) problems.push(`the campaign was elected ${campaignMs} ms after the rival stepped down (bound ${bound} ms)`)
      campaign.kill('SIGTERM')
      const campaignResult = await campaign
      if (campaignResult.exitCode !== 0) problems.push(`campaign exited ${campaignResult.exitCode ?? campaignResult.signal}: ${String(campaignResult.stderr)}`)
    }

    // Two proofs that the rival's command began after the holder's whole tree was gone. The polls: a
    // margin of 0 is one (a scan found the holder gone and the rival not yet there). The witness lock,
    // however close the two came: the holder's tree held it until its last process died, and the
    // rival's command found it free as its first act. A lock found held is an overlap, proven.
    const pollMargin = observer.marginMs
    const rivalWitness = rivalStart && witnessOf(rivalStart)
    const provenApartBy = pollMargin !== undefined && pollMargin >= 0 ? 'polls' : rivalWitness === 'free' ? 'lock' : undefined
    const overlap = judgedByWrites
      ? staleWrites! > 0
      : orderingViolated ||
        tooManyMarkers ||
        observer.overlapSeen ||
        (rivalStart !== undefined && rivalWitness !== 'free') ||
        (observer.rivalSeenAt !== undefined && !provenApartBy)
    const marginMs = provenApartBy === 'polls' ? pollMargin : undefined
    // A holder that keeps leading must run its full length (only then does the recorder write "end") and exit 0.
    const falseKill = !scenario.loses && (holderExit !== 0 || !holderEnd)
    return {
      scenario: scenarioName,
      trial,
      overlap,
      provenApartBy: judgedByWrites ? undefined : provenApartBy,
      falseKill,
      staleWrites,
      refusedWrites,
      marginMs,
      expiryMarginMs: judgedByWrites ? undefined : expiryMarginMs,
      fenceSlackMs: judgedByWrites ? undefined : fenceSlackMs,
      handoverMs: judgedByWrites ? undefined : handoverMs,
      campaignMs,
      holderExit,
      rivalExit,
      holderRevision,
      rivalRevision,
      problems,
    }
  } finally {
    observer?.stop()
    for (const child of processes) {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
      await child.catch(() => undefined)
    }
    for (const group of groups) signalGroup(group, 'SIGKILL')
    killMarked(marks)
    if (movedTo) {
      await waitFor(() => readFileSync(join(movedTo!, 'cgroup.procs'), 'utf8') === '', 5000)
      rmdirSync(movedTo)
    }
    await proxy?.close()
    await cluster.stop()
    rmSync(dir, {recursive: true, force: true})
  }
}

/**
 * A rival that is not elect: `etcdctl elect` on the same prefix, which runs nothing itself. It prints
 * the leader's key once elected; the command starts then, and etcdctl resigns when it ends.
 * Arguments: <fifo> <etcdctl> <endpoints> <election> <command...>
 */
const ETCDCTL_ELECT_RIVAL = `fifo=$0 etcdctl=$1 endpoints=$2 election=$3; shift 3
mkfifo "$fifo"
ETCDCTL_API=3 "$etcdctl" --endpoints="$endpoints" elect "$election" rival > "$fifo" & elected=$!
exec 3< "$fifo"
read -r _ <&3
"$@" 3<&-
status=$?
kill "$elected"; wait "$elected"
exit $status`

/** Whatever a trial left running of its commands, found by their marks (see byMark). */
function killMarked(marks: string[]): void {
  const rows = listProcesses()
  for (const row of rows) {
    if (!marks.some((mark) => byMark(mark)(row, rows, environOf))) continue
    try {
      process.kill(row.pid, 'SIGKILL')
    } catch {
      // gone meanwhile
    }
  }
}

/** The live members, told apart by raft role, each with its member id (hex). */
async function raftStatus(cluster: Cluster) {
  const live = cluster.members.filter((member) => member.process?.exitCode === null && member.process.signalCode === null)
  // Plain output: "<endpoint>, <id>, <version>, <db size>, <is leader>, ..." per member.
  const {stdout: status} = await execa(cluster.binaries.etcdctl, [`--endpoints=${live.map((member) => member.clientUrl).join(',')}`, 'endpoint', 'status'], {
    timeout: 10_000,
    env: {ETCDCTL_API: '3'},
  })
  const rows = status.split('\n').map((line) => line.split(', '))
  const withRole = live.map((member) => {
    const row = rows.find((fields) => fields[0] === member.clientUrl)
    return Object.assign(member, {id: row?.[1] ?? '', isLeader: row?.[4] === 'true'})
  })
  const leader = withRole.find((member) => member.isLeader)
  if (!leader) throw new Error(`no raft leader among ${live.length} members:\n${status}`)
  return {leader, followers: withRole.filter((member) => !member.isLeader)}
}
