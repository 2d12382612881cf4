// npm run chaos -- --trials N [--scenario NAME]: repeats the fault scenarios with random timings and
// prints one table: trials, overlaps, false kills, the smallest margin between the old group's death
// and the rival's first instant. Exits 1 if any trial overlapped, falsely killed, or went wrong.
import {parseArgs} from 'node:util'
import {randomTrial, runTrial, SCENARIOS, type Verdict} from './scenarios.js'

const {values} = parseArgs({options: {trials: {type: 'string', default: '20'}, scenario: {type: 'string', multiple: true}}})
const trials = Number(values.trials)
const names = values.scenario ?? Object.keys(SCENARIOS)
const rows: string[] = []
let failed = false
for (const name of names) {
  const verdicts: Verdict[] = []
  for (let index = 0; index < trials; index++) {
    const trial = randomTrial(SCENARIOS[name])
    const verdict = await runTrial(name, trial).catch((error: Error) => ({problems: [error.message], overlap: false, falseKill: false, marginMs: undefined, trial}) as unknown as Verdict)
    verdicts.push(verdict)
    const margin = verdict.marginMs === undefined ? '-' : `${verdict.marginMs} ms`
    const status = verdict.overlap || verdict.falseKill || verdict.problems.length > 0 ? 'FAIL' : 'ok'
    process.stderr.write(`${name} #${index + 1} ${JSON.stringify(trial)}: ${status}, margin ${margin}${verdict.problems.length ? `: ${verdict.problems.join('; ')}` : ''}\n`)
  }
  const margins = verdicts.map((verdict) => verdict.marginMs).filter((margin): margin is number => margin !== undefined)
  const overlaps = verdicts.filter((verdict) => verdict.overlap).length
  const falseKills = verdicts.filter((verdict) => verdict.falseKill).length
  const problems = verdicts.filter((verdict) => verdict.problems.length > 0).length
  failed ||= overlaps + falseKills + problems > 0
  const smallest = margins.length ? `${Math.min(...margins)} ms` : '-'
  const median = margins.length ? `${margins.sort((a, b) => a - b)[Math.floor(margins.length / 2)]} ms` : '-'
  rows.push(`| ${name} | ${trials} | ${overlaps} | ${falseKills} | ${problems} | ${smallest} | ${median} |`)
}
console.log('| scenario | trials | overlaps | false kills | other problems | smallest margin | median margin |')
console.log('| --- | --- | --- | --- | --- | --- | --- |')
for (const row of rows) console.log(row)
process.exitCode = failed ? 1 : 0
