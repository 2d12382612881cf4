// --once-per slots follow the calendar the crontab is written in: each fire that a DST-aware cron
// (cronie's rules) makes gets a slot of its own, in zones with and without daylight saving, with
// whole-hour and half-hour offsets and shifts. Every zone is the process's own (TZ), as for elect.
import {afterAll, describe, expect, it} from 'vitest'
import {calendarSlotStart, onceSlot} from '../../src/jobs/once-per.js'

const originalZone = process.env.TZ
afterAll(() => {
  process.env.TZ = originalZone
})

const HOUR = 3_600_000
const DAY = 24 * HOUR

/** The instants at which this zone's wall clock shows `wall` (a local time written as if UTC): none, one or two. */
function instantsOf(wall: number): number[] {
  const offsets = new Set([-14, -12, -10, -9, -8, -7, -6, -5, -4, -3, 0, 1, 2, 3, 5.5, 5.75, 9, 10, 10.5, 11, 12, 13, 14].map((hours) => hours * HOUR))
  for (let minutes = -30; minutes <= 30; minutes += 15) offsets.add(-new Date(wall + minutes * 60_000).getTimezoneOffset() * 60_000)
  return [...offsets]
    .map((offset) => wall - offset)
    .filter((at) => -new Date(at).getTimezoneOffset() * 60_000 === wall - at)
    .sort((a, b) => a - b)
}

/**
 * When cronie fires `minute hours * * *` over `days` local days from `firstDay` (YYYY-MM-DD): a
 * local time that does not exist fires a fixed-hour job at the end of the gap and skips a wildcard
 * one; one that happens twice fires a fixed-hour job once and a wildcard one twice.
 */
function cronFires(minute: number, hours: number[] | '*', firstDay: string, days: number): number[] {
  const fires: number[] = []
  for (let day = 0; day < days; day++) {
    const midnight = Date.parse(`${firstDay}T00:00:00Z`) + day * DAY
    for (const hour of hours === '*' ? Array.from({length: 24}, (_, index) => index) : hours) {
      const wall = midnight + hour * HOUR + minute * 60_000
      const instants = instantsOf(wall)
      if (instants.length === 0 && hours !== '*') {
        // The gap's end: the first instant after it whose wall clock is past `wall`.
        const gapEnd = instantsOf(wall + HOUR).length > 0 ? instantsOf(wall + HOUR)[0] - ((wall + HOUR - wall) % HOUR) : undefined
        let at = wall - 14 * HOUR
        while (-new Date(at).getTimezoneOffset() * 60_000 + at < wall) at += 60_000
        fires.push(gapEnd ?? at)
      } else fires.push(...(hours === '*' ? instants : instants.slice(0, 1)))
    }
  }
  return fires.sort((a, b) => a - b)
}

const ZONES: Array<[zone: string, spring: string, autumn: string]> = [
  ['Europe/Berlin', '2027-03-27', '2027-10-30'],
  ['America/New_York', '2027-03-13', '2027-11-06'],
  ['Asia/Kolkata', '2027-03-27', '2027-10-30'],
  ['Australia/Lord_Howe', '2027-10-02', '2027-04-03'],
]
const SCHEDULES: Array<[what: string, minute: number, hours: number[] | '*', periodMs: number]> = [
  ['daily at 01:30', 30, [1], DAY],
  ['daily at 02:30', 30, [2], DAY],
  ['daily at 19:30', 30, [19], DAY],
  ['six-hourly at 1, 7, 13 and 19', 0, [1, 7, 13, 19], 6 * HOUR],
  ['hourly', 0, '*', HOUR],
  ['hourly at half past', 30, '*', HOUR],
]

describe.each(ZONES)('in %s', (zone, spring, autumn) => {
  it.each(SCHEDULES)('each fire of a job %s gets a slot of its own across both changes', (_what, minute, hours, periodMs) => {
    process.env.TZ = zone
    for (const firstDay of [spring, autumn]) {
      const fires = cronFires(minute, hours, firstDay, 3)
      expect(fires.length).toBeGreaterThan(2)
      // Fires at distinct local times never share a slot. (Two fires at one local time, as a
      // wildcard job's in a repeated half hour, may: the second is the same local time again.)
      const localTimes = new Map<number, string>()
      for (const at of fires) localTimes.set(at - new Date(at).getTimezoneOffset() * 60_000, onceSlot(periodMs, at).label)
      expect(new Set(localTimes.values()).size, `${zone} from ${firstDay}: ${fires.map((at) => new Date(at).toISOString()).join(', ')}`).toBe(localTimes.size)
      // Two servers firing the same instant, or a few seconds apart, agree.
      for (const at of fires) expect(onceSlot(periodMs, at + 4000).label).toBe(onceSlot(periodMs, at).label)
    }
  })
})

describe('slots as the local clock shows them', () => {
  it('a daily slot is the local day, however long (Berlin, the autumn change: 25 hours)', () => {
    process.env.TZ = 'Europe/Berlin'
    const day = calendarSlotStart(Date.parse('2027-10-31T12:00:00Z'), DAY)
    expect(new Date(day).toISOString()).toBe('2027-10-30T22:00:00.000Z')
    for (const at of ['2027-10-30T22:00:00Z', '2027-10-31T00:30:00Z', '2027-10-31T01:30:00Z', '2027-10-31T22:59:59Z'])
      expect(calendarSlotStart(Date.parse(at), DAY)).toBe(day)
    expect(calendarSlotStart(Date.parse('2027-10-31T23:00:00Z'), DAY)).toBe(Date.parse('2027-10-31T23:00:00Z'))
  })

  it('a repeated half hour is the slot it repeats (Lord Howe, autumn: 02:00 +11 becomes 01:30 +10:30)', () => {
    process.env.TZ = 'Australia/Lord_Howe'
    // 01:30 +11 is 14:30 UTC; 01:30 +10:30, half an hour later, the same local time again.
    expect(onceSlot(HOUR, Date.parse('2027-04-03T15:00:00Z')).label).toBe(onceSlot(HOUR, Date.parse('2027-04-03T14:30:00Z')).label)
    expect(onceSlot(HOUR, Date.parse('2027-04-03T15:30:00Z')).label).not.toBe(onceSlot(HOUR, Date.parse('2027-04-03T14:30:00Z')).label)
  })

  it('the repeated hour is a slot of its own, the skipped one none', () => {
    process.env.TZ = 'Europe/Berlin'
    // 02:00-02:59 CEST, then 02:00-02:59 CET.
    expect(new Date(calendarSlotStart(Date.parse('2027-10-31T00:59:00Z'), HOUR)).toISOString()).toBe('2027-10-31T00:00:00.000Z')
    expect(new Date(calendarSlotStart(Date.parse('2027-10-31T01:05:00Z'), HOUR)).toISOString()).toBe('2027-10-31T01:00:00.000Z')
    // 01:59 CET, then 03:00 CEST.
    expect(new Date(calendarSlotStart(Date.parse('2027-03-28T01:00:00Z'), HOUR)).toISOString()).toBe('2027-03-28T01:00:00.000Z')
  })

  it('a half-hour shift (Lord Howe, spring: 02:00 becomes 02:30) starts a two-hour slot at the change', () => {
    process.env.TZ = 'Australia/Lord_Howe'
    // 2027-10-03 02:00 +10:30 is 15:30 UTC the day before; from then the clock shows 02:30 +11.
    expect(new Date(calendarSlotStart(Date.parse('2027-10-02T15:45:00Z'), 2 * HOUR)).toISOString()).toBe('2027-10-02T15:30:00.000Z')
  })

  it("keeps elect 0.1's UTC label where the zone's periods begin on the UTC grid, and names it beside its own where not", () => {
    process.env.TZ = 'Europe/Berlin'
    const at = Date.parse('2027-03-29T23:30:00Z')
    expect(onceSlot(60_000, at)).toEqual({periodMs: 60_000, label: `60000/${at / 60_000}`})
    expect(onceSlot(HOUR, at)).toEqual({periodMs: HOUR, label: `${HOUR}/${Math.floor(at / HOUR)}`})
    expect(onceSlot(DAY, at)).toEqual({periodMs: DAY, label: `${DAY}@${Date.parse('2027-03-29T22:00:00Z')}`, legacyLabel: `${DAY}/${Math.floor(at / DAY)}`})
    process.env.TZ = 'Asia/Kolkata'
    expect(onceSlot(HOUR, at).label).toBe(`${HOUR}@${Date.parse('2027-03-29T23:30:00Z')}`)
  })
})
