// Each fault scenario once, with random timings (the chaos runner repeats them: npm run chaos),
// dealt round-robin into a few test files so that vitest runs them side by side: one file of all of
// them took five minutes alone. A failure prints the trial, so it can be replayed with
// runTrial(scenario, trial). The chaos runner holds handovers to HANDOVER_BOUND_MS; here, beside
// other tests on two cores, a generous bound only tells a waiter that runs from one that stalled.
import {describe, expect, it} from 'vitest'
import {cannotRunHere, randomTrial, runTrial, SCENARIOS} from '../tools/scenarios.js'

/** The scenarios of share `share` (1 to `shares`) of the list, each as a test. */
export function describeFaults(share: number, shares: number): void {
  const mine = Object.keys(SCENARIOS).filter((_name, index) => index % shares === share - 1)
  describe("two leaders' commands never overlap", () => {
    // Skipped by name where it cannot run (not as root, say), so the summary says so.
    it.each(mine.filter((name) => !cannotRunHere(SCENARIOS[name])))(
      'when %s',
      async (name) => {
        const trial = randomTrial(SCENARIOS[name])
        const verdict = await runTrial(name, trial, {handoverBoundMs: 10_000})
        const context = `${name} ${JSON.stringify(trial)}`
        expect(verdict.problems, context).toEqual([])
        expect(verdict.overlap, context).toBe(false)
        expect(verdict.falseKill, context).toBe(false)
        // A whole holder frozen overlaps its rival by design: its writes are judged (overlap) instead.
        if (!SCENARIOS[name].judgedByWrites) expect(verdict.provenApartBy, context).toBeDefined()
      },
      90_000,
    )

    it.skip.each(mine.filter((name) => cannotRunHere(SCENARIOS[name])))('when %s (it cannot run here)', () => undefined)
  })
}
