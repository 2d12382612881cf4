// The etcd a leader runs on: said once, where a run or a campaign begins to lead, when that version has
// a known bug that can end a lease early. What it says depends on the etcd under test (the matrix
// runs 3.4.23, 3.5.16 and 3.5.30), so each known version's line is written out here.
import {afterEach, expect, inject, it} from 'vitest'
import {cleanup, elect, startElect, uniqueName, useOwnCluster, waitFor} from '../harness/cli.js'
import {etcdCounters} from '../harness/etcd-metrics.js'

// An etcd of this file's own: a skip is checked by the Status calls etcd counted.
const cluster = useOwnCluster()
afterEach(cleanup)

const BOTH =
  'etcd-io/etcd#15247, an old leader revokes leases that are being renewed (fixed in 3.4.31, 3.5.13); etcd-io/etcd#14758, a keepalive acknowledged after its lease was revoked (fixed in 3.4.38, 3.5.23, 3.6.5)'
const SECOND = 'etcd-io/etcd#14758, a keepalive acknowledged after its lease was revoked (fixed in 3.4.38, 3.5.23, 3.6.5)'
const WARNINGS: Record<string, string | undefined> = {
  '3.4.23': `elect: etcd 3.4.23 has known bugs that can end a lease early, so that another server leads while this one still runs: ${BOTH}. Upgrade etcd, or set ELECT_ACCEPT_ETCD_VERSION=3.4.23 to hear this no more`,
  '3.5.16': `elect: etcd 3.5.16 has known bugs that can end a lease early, so that another server leads while this one still runs: ${SECOND}. Upgrade etcd, or set ELECT_ACCEPT_ETCD_VERSION=3.5.16 to hear this no more`,
  '3.5.30': undefined,
}

const version = inject('etcdVersion')
const expected = () => {
  expect(Object.keys(WARNINGS), `etcd ${version} is new to this test: write out what elect should say on it`).toContain(version)
  return WARNINGS[version]
}
const told = {env: {ELECT_ACCEPT_ETCD_VERSION: ''}}

it.runIf(version)('a run that leads says once whether its etcd has a known lease bug, and a fire that skips does not ask', async () => {
  const name = uniqueName('version')
  const ran = await elect(['run-if-leader', name, '--', 'true'], told)
  expect([ran.exitCode, ran.stderr]).toEqual([0, expected() ?? ''])

  const holder = startElect(['run-if-leader', name, '--', 'sleep', '60'], told)
  expect(await waitFor(async () => (await elect(['who-leads', name])).exitCode === 0)).toBe(true)
  const statusCalls = async () => (await etcdCounters(cluster().endpoints[0])).statusCalls
  const before = await statusCalls()
  const skipped = await elect(['run-if-leader', name, '--', 'true'], told)
  expect([skipped.exitCode, skipped.stderr]).toEqual([0, ''])
  expect(await statusCalls()).toBe(before)
  holder.kill('SIGTERM')
  expect((await holder).stderr).toBe(expected() ?? '')
})

it.runIf(version)('a campaign says it once it leads; the accepted version silences it', async () => {
  const name = uniqueName('version-campaign')
  const campaign = startElect(['campaign', name], told)
  let said = ''
  campaign.stderr.on('data', (chunk) => (said += chunk))
  expect(await waitFor(async () => (await elect(['who-leads', name])).exitCode === 0)).toBe(true)
  // Told beside the election, not before it: where there is something to say, it is waited for.
  if (expected()) expect(await waitFor(() => said.includes('has known bugs'))).toBe(true)
  campaign.kill('SIGTERM')
  const result = await campaign
  expect([result.exitCode, result.stderr]).toEqual([0, expected() ?? ''])
  const accepted = await elect(['run-if-leader', uniqueName('version-accepted'), '--', 'true'], {env: {ELECT_ACCEPT_ETCD_VERSION: version}})
  expect([accepted.exitCode, accepted.stderr]).toEqual([0, ''])
})
