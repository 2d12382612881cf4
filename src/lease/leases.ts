// Leases as elect shows them, and what one has left: etcd's ids are 64-bit decimals on the wire,
// which elect shows in hex, as etcdctl does (and as candidate keys name them).
import type {Etcd3} from 'etcd3'

export function leaseHex(leaseId: string): string {
  return BigInt(leaseId).toString(16)
}

export function leaseIdOfHex(hex: string): string {
  return BigInt(`0x${hex}`).toString()
}

/** The seconds a lease has left; negative once it is gone. */
export async function secondsLeft(client: Etcd3, leaseId: string): Promise<number> {
  const {TTL} = await client.leaseClient.leaseTimeToLive({ID: leaseId})
  return Number(TTL)
}
