import {describe, expect, it} from 'vitest'
import {leaseSafetyWarning} from '../../src/cli/etcd-version.js'
import {leaseBugsOf} from '../../src/etcd/versions.js'

describe('etcd versions and their lease-safety bugs', () => {
  it.each([
    ['3.3.27', ['etcd-io/etcd#15247', 'etcd-io/etcd#14758']],
    ['3.4.23', ['etcd-io/etcd#15247', 'etcd-io/etcd#14758']],
    ['3.4.30', ['etcd-io/etcd#15247', 'etcd-io/etcd#14758']],
    ['3.4.31', ['etcd-io/etcd#14758']],
    ['3.4.37', ['etcd-io/etcd#14758']],
    ['3.4.38', []],
    ['3.5.12', ['etcd-io/etcd#15247', 'etcd-io/etcd#14758']],
    ['3.5.13', ['etcd-io/etcd#14758']],
    ['3.5.16', ['etcd-io/etcd#14758']],
    ['3.5.22', ['etcd-io/etcd#14758']],
    ['3.5.23', []],
    ['3.5.30', []],
    ['3.6.0', ['etcd-io/etcd#14758']],
    ['3.6.4', ['etcd-io/etcd#14758']],
    ['3.6.5', []],
    ['3.7.0', []],
    ['v3.4.23', ['etcd-io/etcd#15247', 'etcd-io/etcd#14758']],
    ['not a version', []],
  ])('etcd %s: %j', (version, issues) => {
    expect(leaseBugsOf(version).map((bug) => bug.issue)).toEqual(issues)
  })

  it('warns in one line that names the bugs and the fixed versions, unless that very version is accepted', () => {
    expect(leaseSafetyWarning('3.5.16', '')).toBe(
      'etcd 3.5.16 has known bugs that can end a lease early, so that another server leads while this one still runs: etcd-io/etcd#14758, a keepalive acknowledged after its lease was revoked (fixed in 3.4.38, 3.5.23, 3.6.5). Upgrade etcd, or set ELECT_ACCEPT_ETCD_VERSION=3.5.16 to hear this no more',
    )
    expect(leaseSafetyWarning('3.5.16', '3.5.16')).toBeUndefined()
    expect(leaseSafetyWarning('3.5.17', '3.5.16')).toMatch(/^etcd 3\.5\.17 has known bugs/)
    expect(leaseSafetyWarning('3.5.30', '')).toBeUndefined()
  })
})
