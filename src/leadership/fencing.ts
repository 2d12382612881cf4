// What a job does with its fencing token: asks whether the leadership it runs under still holds
// (elect holds), and writes to etcd only while it does (elect put/del/txn --fenced), as etcd's Go
// package offers Mutex.IsOwner() as a compare for guarded transactions. A whole holder frozen past
// its lease (a paused VM: elect, its guard and the job stopped and resumed together) runs on for a
// moment after it wakes; these are what refuse its writes meanwhile.
import type {Etcd3, ICompare, IKeyValue, IRequestOp} from 'etcd3'

/** The leadership a job runs under: its leader key (ELECT_KEY) and that key's create revision (ELECT_REV). */
export interface JobLeadership {
  key: string
  createRevision: number
}

/** One write of a fenced transaction. */
export type Write = {put: string; value: string} | {del: string}

/** The leadership a job's environment names; undefined outside a job. */
export function jobLeadership(env: NodeJS.ProcessEnv): JobLeadership | undefined {
  const rev = Number(env.ELECT_REV)
  return env.ELECT_KEY && Number.isInteger(rev) && rev > 0 ? {key: env.ELECT_KEY, createRevision: rev} : undefined
}

/**
 * What became of the leader key made at `createRevision`: undefined while it is still that key. A
 * linearizable read: what a quorum holds now, not what one member last heard.
 */
export async function noLongerHolds(client: Etcd3, {key, createRevision}: JobLeadership): Promise<string | undefined> {
  const [kv] = (await client.kv.range({key: Buffer.from(key)})).kvs
  return whatBecameOf(kv, createRevision)
}

/**
 * Applies every write in one transaction, and only while the leadership holds: its leader key still
 * exists with its create revision (a key deleted and made again has a new one; a candidate that led
 * stays ahead of every newer key, and with several holders its own key is its place). Fenced out,
 * nothing is written and the answer says what became of the key, read in the same transaction.
 */
export async function writeFenced(client: Etcd3, writes: Write[], fence: JobLeadership): Promise<{written: true} | {written: false; why: string}> {
  const holds: ICompare = {key: Buffer.from(fence.key), target: 'Create', result: 'Equal', create_revision: fence.createRevision}
  const answer = await client.kv.txn({
    compare: [holds],
    success: writes.map(requestOf),
    failure: [{request_range: {key: Buffer.from(fence.key)}}],
  })
  if (answer.succeeded) return {written: true}
  const [kv] = answer.responses[0].response_range.kvs
  return {written: false, why: whatBecameOf(kv, fence.createRevision) ?? 'its leader key is not the one made at the token'}
}

/** Applies every write in one transaction, unfenced. */
export async function write(client: Etcd3, writes: Write[]): Promise<void> {
  await client.kv.txn({compare: [], success: writes.map(requestOf), failure: []})
}

function requestOf(write: Write): IRequestOp {
  return 'put' in write ? {request_put: {key: Buffer.from(write.put), value: Buffer.from(write.value)}} : {request_delete_range: {key: Buffer.from(write.del)}}
}

function whatBecameOf(kv: IKeyValue | undefined, createRevision: number): string | undefined {
  if (!kv) return 'its leader key is gone'
  const made = Number(kv.create_revision)
  return made === createRevision ? undefined : `its leader key was made again, at revision ${made}`
}
