// A candidate of an election, and the queue of candidates as etcd's Go concurrency.Election lays it
// out: keys under the election's prefix, the oldest (by create revision) first.
import type {ICompare, IKeyValue, IRangeRequest} from 'etcd3'
import {leaseHex} from '../lease/leases.js'
import {type ElectionKeys, prefixEnd} from './keys.js'
import type {KeyRange} from './watch.js'

export interface Candidate {
  key: string
  value: string
  leaseId: string
  /** The fencing token: it grows with every new leader. */
  createRevision: number
}

/** A candidate as elect shows it (campaign's events, who-leads --json): its lease in hex, as etcdctl shows leases. */
export function identity(candidate: Candidate): {key: string; lease: string; revision: number} {
  return {key: candidate.key, lease: leaseHex(candidate.leaseId), revision: candidate.createRevision}
}

/** Every candidate key of the election. */
export function candidatesRange(keys: ElectionKeys): KeyRange {
  return {key: keys.candidates, rangeEnd: prefixEnd(keys.candidates)}
}

/** Every candidate of the election, oldest (the leader) first. */
export function queueRequest(keys: ElectionKeys, limit: number): IRangeRequest {
  const {key, rangeEnd} = candidatesRange(keys)
  return {key: Buffer.from(key), range_end: rangeEnd, sort_target: 'Create', sort_order: 'Ascend', limit}
}

/** Holds in a transaction while `candidate`'s key is the one it created (not deleted, nor made again). */
export function stillHeld(candidate: Candidate): ICompare {
  return {key: Buffer.from(candidate.key), target: 'Create', result: 'Equal', create_revision: candidate.createRevision}
}

export function sameCandidate(a: Candidate | undefined, b: Candidate | undefined): boolean {
  return a?.key === b?.key && a?.createRevision === b?.createRevision && a?.value === b?.value
}

export function toCandidate(kv: IKeyValue): Candidate {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    leaseId: kv.lease,
    createRevision: Number(kv.create_revision),
  }
}
