// Fault scenarios against real etcd processes, shared by test/faults.test.ts (one randomized trial
// each) and the chaos runner (many). In each trial a holder runs a recorder under run-if-leader, a
// rival waits with --wait forever, a fault hits, and the verdict says whether the two commands ever
// overlapped, by how much they did not (the margin), and whether the exits were the documented ones.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa, execaSync, type ResultPromise} from 'execa'
import {type Cluster, startCluster} from './etcd.js'
import {TcpProxy} from './proxy.js'
import {electBin, groupAlive, readEvents, recorder, signalGroup, sleep, waitFor} from './processes.js'

export interface Trial {
  ttlS: number
  killGraceS: number
  /** When the fault hits, after the rival has queued. */
  faultAtMs: number
  /** How long a fault with a duration (partition, freeze, restart) lasts. */
  faultForMs: number
  /** The holder's command ignores SIGTERM and keeps a child, so only SIGKILL of the group stops it. */
  ignoreTerm: boolean
}

interface Context {
  cluster: Cluster
  trial: Trial
  name: string
  holder: ResultPromise
  holderLease: string
  holderKey: string
  proxy?: TcpProxy
  etcdctl(args: string[]): string
}

export interface Scenario {
  members: 1 | 3
  /** Whether the fault ends the holder's leadership; if not, the holder must run to its end. */
  loses: boolean
  /** The holder's documented exit status. */
  holderExit: number
  /** The holder connects through a proxy (for a partition) or to one member only. */
  holderEndpoints?: 'proxy' | 'first-member'
  /** How long a fault with a duration lasts, in TTLs or in seconds. */
  faultForTtls?: [number, number]
  faultForSeconds?: [number, number]
  fault(context: Context): Promise<void>
}

export const SCENARIOS: Record<string, Scenario> = {
  'lease revoked': {
    members: 1, loses: true, holderExit: 75,
    fault: async ({etcdctl, holderLease}) => void etcdctl(['lease', 'revoke', holderLease]),
  },
  'key deleted': {
    members: 1, loses: true, holderExit: 75,
    fault: async ({etcdctl, holderKey}) => void etcdctl(['del', holderKey]),
  },
  partition: {
    members: 1, loses: true, holderExit: 75, holderEndpoints: 'proxy', faultForTtls: [1.2, 2],
    fault: async ({proxy, trial}) => {
      proxy!.cut()
      await sleep(trial.faultForMs)
      proxy!.heal()
    },
  },
  'elect SIGKILLed': {
    members: 1, loses: true, holderExit: 128 + 9,
    fault: async ({holder}) => void holder.kill('SIGKILL'),
  },
  'elect frozen': {
    members: 1, loses: true, holderExit: 75, faultForTtls: [2, 2.5],
    fault: async ({holder, trial}) => {
      holder.kill('SIGSTOP')
      await sleep(trial.faultForMs)
      holder.kill('SIGCONT')
    },
  },
  'the raft leader dies': {
    members: 3, loses: false, holderExit: 0,
    fault: async ({cluster}) => raftStatus(cluster).leader.kill(),
  },
  'a follower dies': {
    members: 3, loses: false, holderExit: 0,
    fault: async ({cluster}) => raftStatus(cluster).followers[0].kill(),
  },
  'the raft leader moves': {
    members: 3, loses: false, holderExit: 0,
    fault: async ({cluster}) => {
      const {leader, followers} = raftStatus(cluster)
      execaSync(cluster.binaries.etcdctl, [`--endpoints=${leader.clientUrl}`, 'move-leader', followers[0].id], {timeout: 10_000})
    },
  },
  'its only member dies': {
    members: 3, loses: true, holderExit: 75, holderEndpoints: 'first-member',
    fault: async ({cluster}) => cluster.members[0].kill(),
  },
  'etcd restarted': {
    members: 1, loses: false, holderExit: 0, faultForSeconds: [0.05, 0.3],
    fault: async ({cluster, trial}) => {
      await cluster.members[0].kill()
      await sleep(trial.faultForMs)
      await cluster.members[0].start()
    },
  },
  'resign from elsewhere': {
    members: 1, loses: true, holderExit: 75,
    fault: async ({cluster, name}) => {
      await execa('node', [electBin, 'resign', name, '--value', 'holder', '--timeout', '20s'], {env: {ELECT_ENDPOINTS: cluster.endpoints.join(',')}})
    },
  },
}

export interface Verdict {
  scenario: string
  trial: Trial
  overlap: boolean
  falseKill: boolean
  /** Rival's first recorded instant minus the instant the old group was seen dead (a lower bound). */
  marginMs?: number
  holderExit?: number
  rivalExit?: number
  holderRevision: number
  rivalRevision?: number
  problems: string[]
}

/** Timings drawn at random within what the scenario and elect allow. */
export function randomTrial(scenario: Scenario, random = Math.random): Trial {
  const between = (low: number, high: number) => low + (high - low) * random()
  const ttlS = Math.round(between(4, 6))
  const [low, high] = scenario.faultForTtls?.map((ttls) => ttls * ttlS) ?? scenario.faultForSeconds ?? [0, 0]
  return {
    ttlS,
    killGraceS: Math.round(between(0.5, Math.min(2, ttlS - 2.5)) * 10) / 10,
    faultAtMs: Math.round(between(200, 1500)),
    faultForMs: Math.round(between(low, high) * 1000),
    ignoreTerm: random() < 0.5,
  }
}

export async function runTrial(scenarioName: string, trial: Trial): Promise<Verdict> {
  const scenario = SCENARIOS[scenarioName]
  const cluster = await startCluster(scenario.members)
  const dir = mkdtempSync(join(tmpdir(), 'elect-chaos-'))
  const processes: ResultPromise[] = []
  let proxy: TcpProxy | undefined
  let holderGroup: number | undefined
  let rivalGroup: number | undefined
  const problems: string[] = []
  try {
    if (scenario.holderEndpoints === 'proxy') proxy = await TcpProxy.start(cluster.endpoints[0])
    const holderEndpoints =
      scenario.holderEndpoints === 'proxy' ? [proxy!.endpoint] : scenario.holderEndpoints === 'first-member' ? [cluster.endpoints[0]] : cluster.endpoints
    const rivalEndpoints = scenario.holderEndpoints === 'first-member' ? cluster.endpoints.slice(1) : cluster.endpoints
    const name = `chaos-${process.pid}-${Date.now()}`
    const timing = ['--ttl', `${trial.ttlS}s`, '--kill-grace', `${trial.killGraceS}s`]
    const start = (endpoints: string[], args: string[]) => {
      const child = execa('node', [electBin, 'run-if-leader', name, ...timing, ...args], {
        reject: false, stdin: 'ignore', env: {ELECT_ENDPOINTS: endpoints.join(',')}, timeout: 120_000,
      })
      processes.push(child)
      return child
    }
    const etcdctl = (args: string[]) =>
      execaSync(cluster.binaries.etcdctl, [`--endpoints=${rivalEndpoints.join(',')}`, ...args], {timeout: 10_000}).stdout

    // A holder that loses runs until stopped; one that keeps leadership runs past the fault, then ends.
    const holderRunS = scenario.loses ? 120 : (trial.faultAtMs + trial.faultForMs) / 1000 + trial.ttlS
    const holderLog = join(dir, 'holder')
    const holder = start(holderEndpoints, ['--value', 'holder', '--', ...recorder(holderLog, holderRunS, trial.ignoreTerm)])
    if (!(await waitFor(() => readEvents(holderLog).length > 0, 15_000))) throw new Error('the holder never started its command')
    const [holderPid, holderRevision] = readEvents(holderLog)[0].extra.split(' ').map(Number)
    holderGroup = holderPid
    let holderDeadAt: number | undefined
    const watchDeath = setInterval(() => {
      if (holderDeadAt === undefined && !groupAlive(holderPid)) holderDeadAt = Date.now()
    }, 5)

    const rivalLog = join(dir, 'rival')
    const rival = start(rivalEndpoints, ['--value', 'rival', '--wait', 'forever', '--', ...recorder(rivalLog, 0.3)])
    const queued = await waitFor(() => etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only']).split('\n').filter(Boolean).length === 2, 30_000)
    if (!queued) throw new Error('the rival never queued')
    const [holderKey] = etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only', '--sort-by=CREATE']).split('\n').filter(Boolean)
    const holderLease = holderKey.split('/').at(-1)!

    await sleep(trial.faultAtMs)
    await scenario.fault({cluster, trial, name, holder, holderLease, holderKey, proxy, etcdctl})

    const [holderResult, rivalResult] = await Promise.all([holder, rival])
    clearInterval(watchDeath)
    const rivalStart = readEvents(rivalLog).find((event) => event.event === 'start')
    rivalGroup = rivalStart ? Number(rivalStart.extra.split(' ')[0]) : undefined
    const exitOf = (result: typeof holderResult) => result.exitCode ?? (result.signal === 'SIGKILL' ? 137 : undefined)
    const holderExit = exitOf(holderResult)
    const rivalExit = exitOf(rivalResult)
    const rivalRevision = rivalStart ? Number(rivalStart.extra.split(' ')[1]) : undefined
    holderDeadAt ??= groupAlive(holderPid) ? undefined : Date.now()

    if (holderDeadAt === undefined) problems.push('the holder\'s group outlived the trial')
    if (!rivalStart) problems.push(`the rival never ran its command (exit ${rivalExit}): ${rivalResult.stderr}`)
    if (holderExit !== scenario.holderExit) problems.push(`holder exited ${holderExit}, not ${scenario.holderExit}: ${holderResult.stderr}`)
    if (rivalExit !== 0) problems.push(`rival exited ${rivalExit}: ${rivalResult.stderr}`)
    if (rivalRevision !== undefined && !(rivalRevision > holderRevision)) problems.push(`rival ELECT_REV ${rivalRevision} is not above ${holderRevision}`)
    const marginMs = rivalStart && holderDeadAt !== undefined ? rivalStart.at - holderDeadAt : undefined
    const overlap = marginMs !== undefined && marginMs <= 0
    const falseKill = !scenario.loses && holderExit !== 0
    return {scenario: scenarioName, trial, overlap, falseKill, marginMs, holderExit, rivalExit, holderRevision, rivalRevision, problems}
  } finally {
    for (const child of processes) {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
      await child.catch(() => undefined)
    }
    for (const group of [holderGroup, rivalGroup]) if (group) signalGroup(group, 'SIGKILL')
    await proxy?.close()
    await cluster.stop()
    rmSync(dir, {recursive: true, force: true})
  }
}

/** The live members, told apart by raft role, each with its member id (hex). */
function raftStatus(cluster: Cluster) {
  const live = cluster.members.filter((member) => member.process?.exitCode === null && member.process.signalCode === null)
  // Plain output: "<endpoint>, <id>, <version>, <db size>, <is leader>, ..." per member.
  const status = execaSync(cluster.binaries.etcdctl, [`--endpoints=${live.map((member) => member.clientUrl).join(',')}`, 'endpoint', 'status']).stdout
  const rows = status.split('\n').map((line) => line.split(', '))
  const withRole = live.map((member) => {
    const row = rows.find((fields) => fields[0] === member.clientUrl)
    return Object.assign(member, {id: row?.[1] ?? '', isLeader: row?.[4] === 'true'})
  })
  const leader = withRole.find((member) => member.isLeader)
  if (!leader) throw new Error(`no raft leader among ${live.length} members:\n${status}`)
  return {leader, followers: withRole.filter((member) => !member.isLeader)}
}
