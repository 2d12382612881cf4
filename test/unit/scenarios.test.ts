// test/tools/scenarios.ts: the fault trials draw timings a busy machine can keep.
import {describe, expect, it} from 'vitest'
import {randomTrial, SCENARIOS} from '../tools/scenarios.js'

describe("the fault trials' timings", () => {
  // The windows the README's "Choosing --ttl" recommends, so that a trial fails on elect, not on a
  // window a busy machine cannot keep (a 3.5 s one lost its leadership through a restart at a load of 13).
  it('draw fencing windows of at least 6 s where the holder must keep leading, 2.5 s where it loses', () => {
    const narrowest = {keeps: Infinity, loses: Infinity}
    for (const scenario of Object.values(SCENARIOS)) {
      for (let draw = 0; draw < 200; draw++) {
        const {ttlS, killGraceS} = randomTrial(scenario)
        const side = scenario.loses ? 'loses' : 'keeps'
        narrowest[side] = Math.min(narrowest[side], ttlS - killGraceS - 1)
      }
    }
    expect(narrowest).toEqual({keeps: 6, loses: 2.5})
  })
})
