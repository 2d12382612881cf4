// npm run bench: elect side by side with etcdctl and node, in one run, against an etcd started here.
// Prints one markdown table of medians (and p95 where asked) with ratios taken within this run.
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {arch, tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {startCluster, versionOf} from '../harness/etcd.js'
import {etcdCounters} from '../harness/etcd-metrics.js'
import {TcpProxy} from '../harness/proxy.js'
import {nodeRuntime, RELEASE_NODE} from '../build/node-runtime.js'
import {electProcess, freezeTree, listProcesses, projectRoot, readEvents, sleep, thaw, waitFor} from '../harness/processes.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const HANDOVERS = Number(process.env.BENCH_HANDOVERS ?? 30)
/** BENCH_ONLY=handover,rss runs only those sections (startup, cycle, handover, failover, fleet, rss, waiting, idle, fires). */
const only = process.env.BENCH_ONLY?.split(',')
const wanted = (section: string) => !only || only.includes(section)
const cluster = await startCluster(1)
const endpoints = cluster.endpoints.join(',')
// Unset for every process measured: it costs each Node start some 45 ms here (reading the bundle),
// which would flatter every ratio against `node -e 0`.
const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS
delete process.env.NODE_EXTRA_CA_CERTS
const env = {...process.env, ELECT_ENDPOINTS: endpoints, ETCDCTL_ENDPOINTS: endpoints, ETCDCTL_API: '3', NO_COLOR: '1'}
// For etcdctl calls that name --endpoints: etcdctl refuses a flag that an environment variable also sets.
const ctlEnv = {...process.env, ETCDCTL_API: '3'}
const etcdctl = cluster.binaries.etcdctl
const dir = mkdtempSync(join(tmpdir(), 'elect-bench-'))
const rows: string[][] = []
let counter = 0
const fresh = (label: string) => `bench-${label}-${process.pid}-${++counter}`

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const p95 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil(values.length * 0.95) - 1)]
const ms = (value: number) => `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`
const raftIndex = () =>
  Number(/"raftIndex":(\d+)/.exec(execFileSync(etcdctl, [`--endpoints=${endpoints}`, 'endpoint', 'status', '-w', 'json'], {encoding: 'utf8', env: ctlEnv}))![1])
const keysUnder = (prefix: string) =>
  execFileSync(etcdctl, [`--endpoints=${endpoints}`, 'get', '--prefix', prefix, '--keys-only'], {encoding: 'utf8', env: ctlEnv})
    .split('\n')
    .filter(Boolean).length

/** Wall time of a whole process, `RUNS` times after two warm-ups; commands of a pair alternate. */
async function timeProcesses(commands: Array<() => Promise<unknown>>): Promise<number[][]> {
  const samples: number[][] = commands.map(() => [])
  for (let run = -2; run < RUNS; run++) {
    for (const [index, command] of commands.entries()) {
      const started = performance.now()
      await command()
      if (run >= 0) samples[index].push(performance.now() - started)
    }
  }
  return samples
}

const run = (file: string, args: string[]) => () => execa(file, args, {env, reject: false, stdin: 'ignore'})
const elect = (...args: string[]) => run(...electProcess(...args))
const spawnQuiet = (file: string, args: string[]) => spawn(file, args, {env, stdio: 'ignore'})
/**
 * A campaign leading `name` as if on another server (a campaign on this one would lend its leadership
 * to run-if-leader here, which would then run instead of skipping or queueing); once it leads.
 */
async function leaderElsewhere(name: string) {
  const campaign = spawn(...electProcess('campaign', name, '--value', 'holder'), {
    env: {...env, ELECT_RUNTIME_DIR: join(dir, 'another-server')},
    stdio: 'ignore',
  })
  await waitFor(() => keysUnder(`elect/${name}/`) > 0, 10_000)
  return campaign
}

/** A job for a holder: records "start <ns> <pid>" in the log it is given (its $0), then sleeps. */
const recordsItsStart = 'echo "start $(date +%s%N) $$" >> "$0"; exec sleep 31'

/** Starts a holder (`args` of a fresh name and its log) and waits until its job has recorded its start. */
async function startedHolder(label: string, args: (name: string, log: string) => [string, string[]]) {
  const name = fresh(label)
  const log = join(dir, `${name}.log`)
  const holder = spawnQuiet(...args(name, log))
  await waitFor(() => readEvents(log).length === 1, 10_000)
  return {name, log, holder}
}

/** SIGKILL to each of `pids` still there: what a measurement leaves behind (etcdctl leaves its command running). */
function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

try {
  if (wanted('startup')) {
    // Start-up: a leader is in place, so who-leads answers and run-if-leader skips. Each one-shot
    // command against the same Node's `node -e 0` (target: 1.5x), pairs alternating in one run.
    const held = fresh('held')
    const holder = await leaderElsewhere(held)
    const paused = fresh('paused')
    const [nodeZero, ctlGet, version, whoLeads, skip, runs, pause, resume] = await timeProcesses([
      run('node', ['-e', '0']),
      run(etcdctl, ['get', '--prefix', `elect/${held}/`]),
      elect('--version'),
      elect('who-leads', held),
      elect('run-if-leader', held, '--', 'true'),
      elect('runs', held),
      elect('pause', paused),
      elect('resume', paused),
    ])
    const vsNode = (samples: number[], target = '') => `${(median(samples) / median(nodeZero)).toFixed(1)}x node${target}`
    rows.push(['start-up: `node -e 0`', ms(median(nodeZero)), '1.0x node'])
    rows.push(['start-up: `etcdctl get`', ms(median(ctlGet)), vsNode(ctlGet)])
    rows.push(['start-up: `elect --version` (no etcd)', ms(median(version)), vsNode(version)])
    for (const [label, samples] of [
      ['`elect who-leads`', whoLeads],
      ['`elect run-if-leader` that skips', skip],
      ['`elect runs`', runs],
      ['`elect pause`', pause],
      ['`elect resume`', resume],
    ] as const)
      rows.push([`start-up: ${label}`, ms(median(samples)), vsNode(samples, ' (target 1.5x)')])
    // The single executable of this machine (npm run dist), where one was built, against its own Node.
    const executable = join(projectRoot, 'release', `elect-linux-${arch()}`)
    if (existsSync(executable)) {
      const [releaseNodeZero, singleWhoLeads, singleSkip] = await timeProcesses([
        run(nodeRuntime(RELEASE_NODE, arch()), ['-e', '0']),
        run(executable, ['who-leads', held]),
        run(executable, ['run-if-leader', held, '--', 'true']),
      ])
      const vsOwn = (samples: number[], npm: number[]) =>
        `${(median(samples) / median(releaseNodeZero)).toFixed(1)}x its Node (target 1.5x), ${(median(samples) / median(npm)).toFixed(2)}x the npm install`
      rows.push([
        `start-up: Node ${RELEASE_NODE}'s \`node -e 0\``,
        ms(median(releaseNodeZero)),
        `${(median(releaseNodeZero) / median(nodeZero)).toFixed(1)}x node`,
      ])
      rows.push([`start-up: single executable (Node ${RELEASE_NODE}) \`who-leads\``, ms(median(singleWhoLeads)), vsOwn(singleWhoLeads, whoLeads)])
      rows.push(['start-up: single executable, a skip', ms(median(singleSkip)), vsOwn(singleSkip, skip)])
    }
    const beforeSkip = raftIndex()
    await elect('run-if-leader', held, '--', 'true')()
    rows.push(['raft proposals made by one skip', String(raftIndex() - beforeSkip), 'target 0'])
    holder.kill('SIGTERM')
  }

  if (wanted('cycle')) {
    // A whole leader-run-release cycle of a command that does nothing.
    const cycle = fresh('cycle')
    const [electCycle, ctlCycle] = await timeProcesses([elect('run-if-leader', cycle, '--', 'true'), run(etcdctl, ['lock', cycle, 'true'])])
    rows.push([
      'cycle: `run-if-leader X -- true` vs `etcdctl lock X true`',
      `${ms(median(electCycle))} vs ${ms(median(ctlCycle))}`,
      `${(median(electCycle) / median(ctlCycle)).toFixed(1)}x etcdctl (target 3x)`,
    ])
  }

  if (wanted('handover')) {
    // Handover, measured as NOTES.md says: every waiter started and queued behind a first holder that
    // runs long enough for them all to start and queue (30 Node processes take seconds on two cores),
    // then 0.1 s jobs; a gap is one job's end to the next job's start.
    const handover = async (start: (name: string, log: string, seconds: number) => void, queued: (name: string) => number, waiters: number) => {
      const name = fresh('handover')
      const log = join(dir, `${name}.log`)
      start(name, log, waiters === 1 ? 2 : 20)
      await waitFor(() => queued(name) === 1, 10_000)
      for (let index = 0; index < waiters; index++) start(name, log, 0.1)
      if (!(await waitFor(() => queued(name) === waiters + 1, 30_000, 50))) throw new Error(`only ${queued(name)} of ${waiters + 1} queued`)
      if (readEvents(log).some((event) => event.event === 'end')) throw new Error('the first job ended before every waiter had queued')
      await waitFor(() => readEvents(log).filter((event) => event.event === 'end').length === waiters + 1, 120_000, 20)
      const events = readEvents(log)
      const gaps: number[] = []
      for (let index = 1; index < events.length; index++) {
        if (events[index].event === 'start' && events[index - 1].event === 'end') gaps.push((events[index].at - events[index - 1].at) / 1e6)
      }
      if (gaps.length !== waiters) throw new Error(`jobs overlapped or went missing: ${gaps.length} handovers of ${waiters}`)
      return gaps
    }
    /** One waiter queued behind one holder, `RUNS` times: the handover most runs meet. */
    const handovers = async (start: Parameters<typeof handover>[0], queued: Parameters<typeof handover>[1]) => {
      const gaps: number[] = []
      for (let run = 0; run < RUNS; run++) gaps.push(...(await handover(start, queued, 1)))
      return gaps
    }
    const job = (seconds: number) => `echo "start $(date +%s%N)" >> "$0"; sleep ${seconds}; echo "end $(date +%s%N)" >> "$0"`
    const startElect = (name: string, log: string, seconds: number) =>
      spawnQuiet(...electProcess('run-if-leader', name, '--wait', 'forever', '--', 'sh', '-c', job(seconds), log))
    const startCtl = (name: string, log: string, seconds: number) => spawnQuiet(etcdctl, ['lock', name, '--', 'sh', '-c', job(seconds), log])
    const electQueued = (name: string) => keysUnder(`elect/${name}/`)
    const ctlQueued = (name: string) => keysUnder(`${name}/`)
    const stats = (gaps: number[]) => `${ms(median(gaps))}, ${ms(p95(gaps))}, ${ms(Math.max(...gaps))}`
    const ratios = (elect: number[], ctl: number[]) =>
      `${(median(elect) / median(ctl)).toFixed(1)}x / ${(p95(elect) / p95(ctl)).toFixed(1)}x / ${(Math.max(...elect) / Math.max(...ctl)).toFixed(1)}x etcdctl`
    const [electSingle, ctlSingle] = [await handovers(startElect, electQueued), await handovers(startCtl, ctlQueued)]
    rows.push([
      `handover, one waiter queued (${RUNS} times): median, p95, max`,
      `${stats(electSingle)} vs ${stats(ctlSingle)}`,
      `${ratios(electSingle, ctlSingle)} (target 2x)`,
    ])
    const [electGaps, ctlGaps] = [await handover(startElect, electQueued, HANDOVERS), await handover(startCtl, ctlQueued, HANDOVERS)]
    rows.push([`handover in a queue of ${HANDOVERS}: median, p95, max`, `${stats(electGaps)} vs ${stats(ctlGaps)}`, ratios(electGaps, ctlGaps)])
  }

  if (wanted('failover')) {
    // Crash failover at --ttl 3: the holder is SIGKILLed; how long until the next command starts?
    const failover = async (holderArgs: (name: string, log: string) => [string, string[]], waiterArgs: (name: string, log: string) => [string, string[]]) => {
      const results: number[] = []
      for (let trial = 0; trial < 3; trial++) {
        const {name, log, holder} = await startedHolder('failover', holderArgs)
        spawnQuiet(...waiterArgs(name, log))
        await sleep(500)
        const killedAt = Date.now()
        holder.kill('SIGKILL')
        await waitFor(() => readEvents(log).length === 2, 20_000)
        results.push(readEvents(log)[1].at / 1e6 - killedAt)
        // etcdctl leaves its command running when killed: end both commands, by the pids they recorded.
        killAll(readEvents(log).map((event) => Number(event.extra)))
      }
      return results
    }
    const electFailover = await failover(
      (name, log) => electProcess('run-if-leader', name, '--ttl', '3s', '--kill-grace', '1s', '--', 'sh', '-c', `${recordsItsStart}0`, log),
      (name, log) =>
        electProcess('run-if-leader', name, '--ttl', '3s', '--kill-grace', '1s', '--wait', 'forever', '--', 'sh', '-c', `${recordsItsStart}1`, log),
    )
    const ctlFailover = await failover(
      (name, log) => [etcdctl, ['lock', '--ttl', '3', name, '--', 'sh', '-c', `${recordsItsStart}2`, log]],
      (name, log) => [etcdctl, ['lock', '--ttl', '3', name, '--', 'sh', '-c', `${recordsItsStart}3`, log]],
    )
    rows.push(['crash failover at TTL 3 s', `${ms(median(electFailover))} vs ${ms(median(ctlFailover))}`, 'target: within TTL + 0.5 s'])
  }

  if (wanted('frozen')) {
    // A whole holder (elect, the guard, the job) frozen past its lease, as a paused VM is, then resumed:
    // how long its job runs on after the SIGCONT. etcdctl lock, frozen the same way, never stops it.
    const runsOnAfterResume = async (holderArgs: (name: string, log: string) => [string, string[]]) => {
      const results: number[] = []
      for (let trial = 0; trial < 5; trial++) {
        const {name, log, holder} = await startedHolder('frozen', holderArgs)
        const jobPid = Number(readEvents(log)[0].extra)
        const pids = freezeTree(holder.pid!)
        await waitFor(() => keysUnder(`elect/${name}/`) === 0, 20_000)
        const resumedAt = performance.now()
        thaw(pids)
        const stopped = await waitFor(() => !listProcesses().some((each) => each.pid === jobPid && each.alive), 3000, 2)
        results.push(stopped ? performance.now() - resumedAt : Number.POSITIVE_INFINITY)
        killAll([jobPid, holder.pid!])
      }
      return results
    }
    const electRunsOn = await runsOnAfterResume((name, log) =>
      electProcess('run-if-leader', name, '--ttl', '3s', '--kill-grace', '1s', '--', 'sh', '-c', recordsItsStart, log),
    )
    const ctlRunsOn = await runsOnAfterResume((name, log) => [etcdctl, ['lock', '--ttl', '3', `elect/${name}`, '--', 'sh', '-c', recordsItsStart, log]])
    const worst = (values: number[]) => (Number.isFinite(Math.max(...values)) ? ms(Math.max(...values)) : 'never stopped')
    rows.push([
      'a whole holder frozen past its lease: its job runs on after SIGCONT (5 times): median, max',
      `${ms(median(electRunsOn))}, ${worst(electRunsOn)} vs ${Number.isFinite(median(ctlRunsOn)) ? ms(median(ctlRunsOn)) : 'never stopped'}`,
      'only fencing closes it',
    ])
  }

  if (wanted('fleet')) {
    // A fleet of 30 fires at once, with --once-per.
    const fleet = fresh('fleet')
    const indexBefore = raftIndex()
    const fleetStarted = performance.now()
    const fires = await Promise.all(
      Array.from({length: 30}, () =>
        execa('/usr/bin/time', ['-f', '%M', ...electProcess('run-if-leader', fleet, '--once-per', '1h', '--', 'true').flat()], {env, reject: false}),
      ),
    )
    const fleetMs = performance.now() - fleetStarted
    const peakKb = Math.max(...fires.map((fire) => Number(fire.stderr.trim().split('\n').at(-1))))
    rows.push([
      'fleet: 30 `--once-per` fires at once',
      `${ms(fleetMs)} until all exit; raft index +${raftIndex() - indexBefore}`,
      `peak RSS of one: ${Math.round(peakKb / 1024)} MB`,
    ])
  }

  if (wanted('rss')) {
    // Supervision: memory of elect and its guard (the guard and its watcher) while a command runs,
    // beside etcdctl lock's. RSS counts the pages of the node binary that every Node process shares;
    // "private" (Private_Clean + Private_Dirty) is what one more process really costs, and
    // Private_Dirty alone what it made itself (its heap and stacks, not the binary's pages it read).
    const memoryOf = (pid: number) => {
      const kb = (text: string, field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0)
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
      return {
        rss: kb(rollup, 'Rss') / 1024,
        private: (kb(rollup, 'Private_Clean') + kb(rollup, 'Private_Dirty')) / 1024,
        dirty: kb(rollup, 'Private_Dirty') / 1024,
      }
    }
    const sum = (pids: number[]) =>
      pids.map(memoryOf).reduce((a, b) => ({rss: a.rss + b.rss, private: a.private + b.private, dirty: a.dirty + b.dirty}), {rss: 0, private: 0, dirty: 0})
    const childrenOf = (pid: number) => listProcesses().filter((row) => row.ppid === pid && row.alive)
    const mb = (value: number) => `${value < 10 ? value.toFixed(1) : Math.round(value)} MB`
    const supervised = spawn(...electProcess('run-if-leader', fresh('rss'), '--', 'sleep', '3'), {env, stdio: 'ignore'})
    const locked = spawn(etcdctl, ['lock', fresh('rss-ctl'), 'sleep', '3'], {env, stdio: 'ignore'})
    await sleep(1500)
    const guards = childrenOf(supervised.pid!).map((row) => row.pid)
    // The guard's children: the command (its own group's leader) and the watcher.
    const watchers = guards.flatMap((guard) =>
      childrenOf(guard)
        .filter((row) => row.pgrp !== row.pid)
        .map((row) => row.pid),
    )
    const [electMemory, guardMemory, ctlMemory] = [memoryOf(supervised.pid!), sum([...guards, ...watchers]), memoryOf(locked.pid!)]
    rows.push([
      'supervision: memory while a command runs, RSS (private)',
      `elect ${mb(electMemory.rss)} (${mb(electMemory.private)}) + guard ${mb(guardMemory.rss)} (${mb(guardMemory.private)}) vs etcdctl lock ${mb(ctlMemory.rss)} (${mb(ctlMemory.private)})`,
      `${(electMemory.rss / ctlMemory.rss).toFixed(1)}x etcdctl (RSS)`,
    ])
    rows.push([
      'supervision: Private_Dirty while a command runs',
      `elect ${mb(electMemory.dirty)} + guard ${mb(guardMemory.dirty)} = ${mb(electMemory.dirty + guardMemory.dirty)} vs etcdctl lock ${mb(ctlMemory.dirty)}`,
      'target: 16 MB together, the guard under 1 MB',
    ])
    await Promise.all([supervised, locked].map((child) => new Promise((resolve) => child.once('exit', resolve))))
  }

  if (wanted('waiting')) {
    // What waiting costs etcd: every waiter renews two leases and pulses its watch (election/watch.ts).
    const etcdCpuMs = () => {
      const fields = readFileSync(`/proc/${cluster.members[0].process!.pid}/stat`, 'utf8').split(') ')[1].split(' ')
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // utime + stime, in clock ticks of 10 ms
    }
    const cpuPerSecond = async (seconds: number) => {
      const [cpuBefore, indexBefore, started] = [etcdCpuMs(), raftIndex(), performance.now()]
      await sleep(seconds * 1000)
      return {cpu: ((etcdCpuMs() - cpuBefore) * 1000) / (performance.now() - started), proposals: raftIndex() - indexBefore}
    }
    const queue = fresh('waiting')
    const queueHolder = await leaderElsewhere(queue)
    const idle = await cpuPerSecond(20)
    const waiters = Array.from({length: 30}, () => spawn(...electProcess('run-if-leader', queue, '--wait', 'forever', '--', 'true'), {env, stdio: 'ignore'}))
    await waitFor(() => keysUnder(`elect/${queue}/`) === 31, 60_000, 200)
    await sleep(3000) // past their start-up
    const waiting = await cpuPerSecond(20)
    rows.push([
      'waiting: etcd CPU with 30 queued waiters vs none, 20 s each',
      `${waiting.cpu.toFixed(1)} vs ${idle.cpu.toFixed(1)} ms per s; raft index +${waiting.proposals} vs +${idle.proposals}`,
      `${((waiting.cpu - idle.cpu) / 30).toFixed(2)} ms of etcd CPU per waiter per s`,
    ])
    for (const child of [...waiters, queueHolder]) child.kill('SIGTERM')
  }
  if (wanted('idle')) {
    // What an idle candidate costs etcd, by etcd's own counters: 20 candidates of one election (one
    // leads, 19 wait), 30 s after a 15 s warm-up; elect's campaigns, then etcdctl elect's (Go's
    // concurrency.Election, whose session renews every TTL/3 of its 60 s). Messages per renewal put
    // the two side by side at equal renewal rates.
    const counters = () => etcdCounters(cluster.endpoints[0])
    const CANDIDATES = 20
    const idleCost = async (start: (name: string, index: number) => ReturnType<typeof spawn>, renewalsPerSecond: number) => {
      const name = fresh('idle')
      const children = Array.from({length: CANDIDATES}, (_, index) => start(name, index))
      const prefix = start === startCampaign ? `elect/${name}/` : `${name}/`
      if (!(await waitFor(() => keysUnder(prefix) === CANDIDATES, 60_000, 200))) throw new Error('not every idle candidate queued')
      await sleep(15_000)
      const [before, started] = [await counters(), performance.now()]
      await sleep(30_000)
      const [after, seconds] = [await counters(), (performance.now() - started) / 1000]
      for (const child of children) child.kill('SIGTERM')
      const per = (field: keyof typeof before) => (after[field] - before[field]) / CANDIDATES / seconds
      return {
        messages: per('messages'),
        reads: per('reads'),
        watchRequests: per('watchRequests'),
        streams: per('keepaliveStreams'),
        proposals: per('proposals'),
        cpuMs: per('cpuMs'),
        perRenewal: per('messages') / renewalsPerSecond,
      }
    }
    const startCampaign = (name: string, index: number) =>
      spawn(...electProcess('campaign', name, '--value', `c${index}`), {env: {...env, ELECT_RUNTIME_DIR: join(dir, `idle-${index}`)}, stdio: 'ignore'})
    const startGo = (name: string, index: number) => spawnQuiet(etcdctl, ['elect', name, `c${index}`])
    // The same Go session and wait (a key on it, a read of the one ahead, a watch) renewing as often
    // as elect: etcdctl lock takes a TTL, etcdctl elect does not.
    const startGoAtElectsRate = (name: string) => spawnQuiet(etcdctl, ['lock', '--ttl', '9', name])
    // elect renews three times per fencing window (--ttl 10s less the 1 s margin); Go every TTL/3.
    const [electIdle, goIdle, goAtElectsRate] = [
      await idleCost(startCampaign, 3 / 9),
      await idleCost(startGo, 1 / 20),
      await idleCost(startGoAtElectsRate, 3 / 9),
    ]
    const describe = (cost: typeof electIdle) =>
      `${cost.messages.toFixed(3)} msg/s (${cost.reads.toFixed(3)} Range, ${cost.watchRequests.toFixed(3)} Watch, ${cost.streams.toFixed(3)} keepalive streams opened), ${cost.perRenewal.toFixed(2)} msg per renewal, etcd CPU ${cost.cpuMs.toFixed(2)} ms/s`
    rows.push([
      `idle candidate (${CANDIDATES}, one leads), per candidate`,
      `${describe(electIdle)} vs ${describe(goIdle)}`,
      `${(electIdle.messages / goIdle.messages).toFixed(1)}x msg/s, ${(electIdle.perRenewal / goIdle.perRenewal).toFixed(1)}x per renewal, ${(electIdle.cpuMs / goIdle.cpuMs).toFixed(1)}x CPU (targets 1.5x)`,
    ])
    rows.push([
      `the same, against Go renewing as often (\`etcdctl lock --ttl 9\`)`,
      describe(goAtElectsRate),
      `${(electIdle.messages / goAtElectsRate.messages).toFixed(1)}x msg/s, ${(electIdle.cpuMs / goAtElectsRate.cpuMs).toFixed(1)}x CPU (targets 1.5x)`,
    ])
  }

  if (wanted('fires')) {
    // A cron fire of N servers at once, no campaign: raft proposals for the fire, against the floor of
    // one run (a lease, the claim, the slot, the release). On two cores, N Node processes start one
    // after another, and the first could run and mark the slot before the last reads it: the fires go
    // through a proxy that holds every connection until all N have made theirs, as N machines firing
    // at the same second would reach etcd together.
    const floorName = fresh('fire-floor')
    const floorBefore = raftIndex()
    await elect('run-if-leader', floorName, '--once-per', '1h', '--', 'true')()
    const floor = raftIndex() - floorBefore
    const gate = await TcpProxy.start(cluster.endpoints[0])
    try {
      for (const servers of [10, 30, 60]) {
        const name = fresh('fire')
        const ranLog = join(dir, `${name}.ran`)
        await gate.cut()
        const accepted = gate.accepted
        const before = raftIndex()
        const fires = Array.from({length: servers}, (_, index) =>
          execa(
            ...electProcess(
              'run-if-leader',
              name,
              '--value',
              `s${index}`,
              '--once-per',
              '1h',
              '--command-timeout',
              '120s',
              '--',
              'sh',
              '-c',
              'echo ran >> "$0"',
              ranLog,
            ),
            {
              env: {...env, ELECT_ENDPOINTS: gate.endpoint},
              reject: false,
            },
          ),
        )
        if (!(await waitFor(() => gate.accepted - accepted >= servers, 120_000, 50)))
          throw new Error(`only ${gate.accepted - accepted} of ${servers} fires reached etcd`)
        await gate.heal()
        await Promise.all(fires)
        const runs = existsSync(ranLog) ? readFileSync(ranLog, 'utf8').split('\n').filter(Boolean).length : 0
        rows.push([
          `a fire of ${servers} servers reaching etcd together (\`--once-per 1h\`)`,
          `${raftIndex() - before} proposals, ${runs} run`,
          `one run alone: ${floor} proposals`,
        ])
      }
    } finally {
      await gate.close()
    }
  }
} finally {
  await cluster.stop()
  rmSync(dir, {recursive: true, force: true})
}

console.log(
  `\nelect ${JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version}, node ${process.version}, etcd/etcdctl ${versionOf(cluster.binaries)} (Debian), ${RUNS} runs after 2 warm-ups; NODE_EXTRA_CA_CERTS ${extraCaCerts === undefined ? 'not set' : 'was set here and is unset for every process measured'}\n`,
)
console.log('| measure | elect vs reference | ratio / target |')
console.log('| --- | --- | --- |')
for (const row of rows) console.log(`| ${row.join(' | ')} |`)
process.exit(0)
