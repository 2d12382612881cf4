// elect holds: whether the leadership a job runs under still holds, read from etcd as it is now.
import type {Etcd3} from 'etcd3'

/**
 * What became of the leader key `key` made at `createRevision` (the job's ELECT_KEY and ELECT_REV,
 * its fencing token): undefined while it is still that key. A linearizable read: what a quorum holds
 * now, not what one member last heard.
 */
export async function noLongerHolds(client: Etcd3, key: string, createRevision: number): Promise<string | undefined> {
  const [kv] = (await client.kv.range({key: Buffer.from(key)})).kvs
  if (!kv) return 'its leader key is gone'
  const made = Number(kv.create_revision)
  return made === createRevision ? undefined : `its leader key was made again, at revision ${made}`
}
