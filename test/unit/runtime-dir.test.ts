// src/attach/runtime-dir.ts: where a campaign and the runs of its machine meet.
import {existsSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {runtimeDir} from '../../src/attach/runtime-dir.js'

describe('runtime directory', () => {
  it('is $ELECT_RUNTIME_DIR, else chosen by user id alone, so that a service and a cron job agree', () => {
    expect(runtimeDir({ELECT_RUNTIME_DIR: '/srv/elect'})).toBe('/srv/elect')
    const uid = process.getuid!()
    const byUid = uid === 0 ? '/run/elect' : existsSync(`/run/user/${uid}`) ? `/run/user/${uid}/elect` : `/tmp/elect-${uid}`
    // A login shell's XDG_RUNTIME_DIR must not move it: cron has none.
    expect(runtimeDir({XDG_RUNTIME_DIR: '/run/user/0'})).toBe(byUid)
    expect(runtimeDir({})).toBe(byUid)
  })
})
