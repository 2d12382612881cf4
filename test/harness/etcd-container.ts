// The Docker alternative to local etcd binaries, for machines with a Docker engine. Forced with
// ETCD_TEST_BACKEND=docker; without an engine it fails loudly rather than passing on nothing.
// Tests that start clusters of their own (fault tests) still need local binaries.
import {GenericContainer, Wait} from 'testcontainers'

const IMAGE = 'gcr.io/etcd-development/etcd:v3.4.23'

export async function startContainer(): Promise<{endpoints: string[]; stop: () => Promise<unknown>}> {
  let container
  try {
    container = await new GenericContainer(IMAGE)
      .withCommand(['/usr/local/bin/etcd', '--name', 'm0', '--listen-client-urls', 'http://0.0.0.0:2379', '--advertise-client-urls', 'http://127.0.0.1:2379'])
      .withExposedPorts(2379)
      .withWaitStrategy(Wait.forHttp('/health', 2379))
      .start()
  } catch (error) {
    throw new Error(`no etcd container could be started (testcontainers): ${(error as Error).message}`)
  }
  return {
    endpoints: [`${container.getHost()}:${container.getMappedPort(2379)}`],
    stop: () => container.stop(),
  }
}
