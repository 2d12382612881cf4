// A campaign lends its leadership to the run-if-leaders of its machine as a Grant, the attach
// protocol's own shape (a campaign of an earlier version may still be running after an upgrade, so the
// wire names stay); these two are the only places a candidate becomes a grant and back.
import type {Grant} from '../attach/protocol.js'
import type {Candidate} from '../election/candidate.js'

export function grantOf(leader: Candidate): Grant {
  return {key: leader.key, revision: leader.createRevision, leaseId: leader.leaseId, value: leader.value}
}

export function candidateOf(grant: Grant): Candidate {
  return {key: grant.key, createRevision: grant.revision, leaseId: grant.leaseId, value: grant.value}
}
