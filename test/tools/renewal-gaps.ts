// Measures how long a lease's renewals stall through a chaos scenario's fault: the number a fencing
// window must outlast (README, "Choosing --ttl"). One Session renews every INTERVAL ms (833 by
// default: a 2.5 s window) with a TTL so long that its fence never matters; the longest gap between
// the send times of acknowledged renewals is printed per trial.
//   npx tsx test/tools/renewal-gaps.ts 'compaction, then the raft leader dies' 10
import {monotonicMs} from '../../src/time/clock.js'
import {Session} from '../../src/lease/session.js'
import {connect} from '../../src/etcd/connection.js'
import {startCluster} from '../harness/etcd.js'
import {sleep} from '../harness/processes.js'
import {SCENARIOS} from './scenarios.js'

const intervalMs = Number(process.env.INTERVAL ?? 833)
Object.defineProperty(Session.prototype, 'keepaliveIntervalMs', {get: () => intervalMs})
const [scenarioName, trials = '5'] = process.argv.slice(2)
const scenario = SCENARIOS[scenarioName]
if (!scenario) throw new Error(`no scenario ${scenarioName}: ${Object.keys(SCENARIOS).join(', ')}`)
const ttlMs = 30_000
for (let trial = 0; trial < Number(trials); trial++) {
  const cluster = await startCluster(scenario.members)
  const client = await connect({endpoints: cluster.endpoints, dialTimeoutMs: 5000, commandTimeoutMs: 5000})
  try {
    const session = await Session.grant(client, {ttlMs, fenceLeadMs: 0, callTimeoutMs: 5000})
    const sentAt = [monotonicMs()]
    session.on('renewed', (validUntil: number) => sentAt.push(validUntil - ttlMs))
    await sleep(1000 + Math.random() * 1000)
    const faultAt = monotonicMs()
    const [low, high] = scenario.faultForSeconds ?? [0, 0]
    await scenario.fault({cluster, trial: {faultForMs: (low + Math.random() * (high - low)) * 1000}} as never)
    const faultMs = monotonicMs() - faultAt
    await sleep(4000)
    const gaps = sentAt.slice(1).map((at, index) => ({gapMs: at - sentAt[index], fromFaultMs: sentAt[index] - faultAt}))
    const worst = gaps.reduce((a, b) => (b.gapMs > a.gapMs ? b : a))
    console.log(
      JSON.stringify({
        scenario: scenarioName,
        trial,
        faultMs: Math.round(faultMs),
        worstGapMs: Math.round(worst.gapMs),
        gapStartsAfterFaultMs: Math.round(worst.fromFaultMs),
      }),
    )
    await session.close().catch(() => undefined)
  } finally {
    client.close()
    await cluster.stop()
  }
}
