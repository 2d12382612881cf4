// npm run chaos -- --trials N [--scenario NAME ...] [--holder etcdctl] [--ttl S --kill-grace S] [--deaf-watches]
//                   [--rival 'etcdctl lock'|'etcdctl elect'|elect] [--shape NAME] [--holders N]
// Repeats the fault scenarios with random timings and prints one table: trials, how many had a rival
// that is not elect and a holder's job outside its process group, overlaps, false kills, other
// problems, the smallest and median margin (a strict lower bound of the gap between the old job's
// death and the rival's first instant, where the 10 ms scans of /proc could show one), how many trials
// were shown apart by the witness lock alone (scenarios.ts), the smallest lease margin (how long
// before the server could first expire the holder's lease its job was dead), and the slowest handover
// and campaign election where the holder kept leading. Exits 1 if any trial overlapped, falsely
// killed, or went wrong.
//
// To see that the verdict can fail: --holder etcdctl puts `etcdctl lock` in the holder's place (it
// leaves its command running when it loses), and --ttl 2 --kill-grace 0.5 leaves a fencing window
// shorter than etcd's own failover. --deaf-watches makes the waiter's and the campaign's watches hear
// nothing, so that every handover rests on their once-a-second reads: the worst case of the bound.
// --holders N runs each trial with N holders (the faulted one and N - 1 companions) and an elect
// rival, in the scenarios without a campaign: never N + 1 at once, by the witness and by etcd's markers.
// The whole holder frozen past its lease is judged by its writes (an overlap is a write etcd applied
// after its key was gone); --unfenced-writer makes them without --fenced, to see that verdict fail.
import {parseArgs} from 'node:util'
import {allowsHolders, HANDOVER_BOUND_MS, randomTrial, runTrial, SCENARIOS, SHAPES, type Trial, type Verdict} from './scenarios.js'

const {values} = parseArgs({
  options: {
    trials: {type: 'string', default: '20'},
    scenario: {type: 'string', multiple: true},
    holder: {type: 'string', default: 'elect'},
    ttl: {type: 'string'},
    'kill-grace': {type: 'string'},
    'deaf-watches': {type: 'boolean', default: false},
    rival: {type: 'string'},
    shape: {type: 'string'},
    holders: {type: 'string'},
    'unfenced-writer': {type: 'boolean', default: false},
  },
})
const holders = values.holders === undefined ? undefined : Number(values.holders)
const trials = Number(values.trials)
const names = values.scenario ?? Object.keys(SCENARIOS).filter((name) => holders === undefined || allowsHolders(SCENARIOS[name]))
const unknown = names.filter((name) => !(name in SCENARIOS))
const badRival = values.rival !== undefined && !['elect', 'etcdctl lock', 'etcdctl elect'].includes(values.rival)
const badShape = values.shape !== undefined && !(values.shape in SHAPES)
const badHolders =
  holders !== undefined && (!Number.isInteger(holders) || holders < 1 || names.some((name) => name in SCENARIOS && !allowsHolders(SCENARIOS[name])))
if (unknown.length > 0 || !['elect', 'etcdctl'].includes(values.holder) || badRival || badShape || badHolders) {
  console.error(`unknown scenario or holder: ${[...unknown, values.holder].join(', ')}; scenarios: ${Object.keys(SCENARIOS).join(', ')}`)
  process.exit(2)
}
const rows: string[] = []
let failed = false
for (const name of names) {
  const verdicts: Verdict[] = []
  for (let index = 0; index < trials; index++) {
    const trial = randomTrial(SCENARIOS[name])
    if (values.ttl) trial.ttlS = Number(values.ttl)
    if (values['kill-grace']) trial.killGraceS = Number(values['kill-grace'])
    if (values.rival) trial.rival = values.rival as Trial['rival']
    if (values.shape) trial.shape = values.shape as Trial['shape']
    if (holders !== undefined) Object.assign(trial, {holders, rival: 'elect'})
    const verdict = await runTrial(name, trial, {
      holder: values.holder as 'elect' | 'etcdctl',
      deafWatches: values['deaf-watches'],
      unfencedWriter: values['unfenced-writer'],
    }).catch((error: Error) => ({problems: [error.message], overlap: false, falseKill: false, trial}) as unknown as Verdict)
    verdicts.push(verdict)
    const margin =
      verdict.marginMs === undefined ? (verdict.provenApartBy === 'lock' ? "below the polls' resolution (apart by the lock)" : '-') : `${verdict.marginMs} ms`
    const verdictWords = [verdict.overlap && 'OVERLAP', verdict.falseKill && 'FALSE KILL', verdict.problems.length > 0 && 'problems'].filter(Boolean)
    const status = verdictWords.length > 0 ? `FAIL (${verdictWords.join(', ')})` : 'ok'
    const timings = [
      verdict.fenceSlackMs !== undefined && `fence slack ${verdict.fenceSlackMs} ms`,
      verdict.handoverMs !== undefined && `handover ${verdict.handoverMs} ms`,
      verdict.campaignMs !== undefined && `campaign ${verdict.campaignMs} ms`,
      verdict.staleWrites !== undefined && `stale writes applied ${verdict.staleWrites}, refused ${verdict.refusedWrites}`,
    ].filter(Boolean)
    process.stderr.write(
      `${name} #${index + 1} ${JSON.stringify(trial)}: ${status}, margin ${margin}${timings.length ? `, ${timings.join(', ')}` : ''}${verdict.problems.length ? `: ${verdict.problems.join('; ')}` : ''}\n`,
    )
  }
  const margins = verdicts
    .map((verdict) => verdict.marginMs)
    .filter((margin): margin is number => margin !== undefined)
    .sort((a, b) => a - b)
  const overlaps = verdicts.filter((verdict) => verdict.overlap).length
  const byLockAlone = verdicts.filter((verdict) => !verdict.overlap && verdict.provenApartBy === 'lock').length
  const falseKills = verdicts.filter((verdict) => verdict.falseKill).length
  const problems = verdicts.filter((verdict) => verdict.problems.length > 0).length
  failed ||= overlaps + falseKills + problems > 0
  const expiryMargins = verdicts.map((verdict) => verdict.expiryMarginMs).filter((margin): margin is number => margin !== undefined)
  const smallestExpiry = expiryMargins.length ? `${Math.min(...expiryMargins)} ms` : '-'
  const smallest = margins.length ? `${margins[0]} ms` : '-'
  const median = margins.length ? `${margins[Math.floor(margins.length / 2)]} ms` : '-'
  const slowest = (values: Array<number | undefined>) => {
    const known = values.filter((value): value is number => value !== undefined)
    return known.length && !SCENARIOS[name].loses ? `${Math.max(...known)} ms` : '-'
  }
  const foreign = verdicts.filter((verdict) => verdict.trial?.rival !== undefined && verdict.trial.rival !== 'elect').length
  const shaped = verdicts.filter((verdict) => verdict.trial?.shape !== undefined && verdict.trial.shape !== 'plain').length
  rows.push(
    `| ${name} | ${trials} | ${foreign} | ${shaped} | ${overlaps} | ${falseKills} | ${problems} | ${smallest} | ${median} | ${byLockAlone} | ${smallestExpiry} | ${slowest(verdicts.map((verdict) => verdict.handoverMs))} | ${slowest(verdicts.map((verdict) => verdict.campaignMs))} |`,
  )
}
console.log(
  `holder: ${values.holder}${holders ? `; --holders ${holders}` : ''}${values['deaf-watches'] ? '; waiters with deaf watches' : ''}; handover bound ${HANDOVER_BOUND_MS} ms`,
)
console.log(
  '| scenario | trials | rivals not elect | jobs outside their group | overlaps | false kills | other problems | smallest margin | median margin | apart by the lock alone | smallest lease margin | slowest handover | slowest campaign election |',
)
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
for (const row of rows) console.log(row)
process.exitCode = failed ? 1 : 0
