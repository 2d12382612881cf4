// A TCP proxy on loopback whose link can be cut the way a network partition cuts it: connections
// stay open, but nothing gets through in either direction (held, not dropped) until it is healed.
import {createServer, connect, type Server, type Socket} from 'node:net'

interface Link {
  client: Socket
  upstream: Socket
  held: Array<{to: Socket; chunk: Buffer}>
}

export class TcpProxy {
  private links = new Set<Link>()
  private isCut = false
  /** Connections accepted since the start. */
  accepted = 0

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(target: string): Promise<TcpProxy> {
    const [host, port] = target.split(':')
    let proxy: TcpProxy
    const server = createServer((client) => {
      proxy.accepted++
      const upstream = connect(Number(port), host)
      const link: Link = {client, upstream, held: []}
      proxy.links.add(link)
      const forward = (to: Socket) => (chunk: Buffer) => {
        if (proxy.isCut) link.held.push({to, chunk})
        else to.write(chunk)
      }
      client.on('data', forward(upstream))
      upstream.on('data', forward(client))
      const close = () => {
        client.destroy()
        upstream.destroy()
        proxy.links.delete(link)
      }
      client.on('close', close).on('error', close)
      upstream.on('close', close).on('error', close)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port: listening} = server.address() as {port: number}
    proxy = new TcpProxy(server, `127.0.0.1:${listening}`)
    return proxy
  }

  cut(): void {
    this.isCut = true
  }

  heal(): void {
    this.isCut = false
    for (const link of this.links) {
      for (const {to, chunk} of link.held.splice(0)) to.write(chunk)
    }
  }

  async close(): Promise<void> {
    for (const link of this.links) {
      link.client.destroy()
      link.upstream.destroy()
    }
    this.links.clear()
    await new Promise((resolve) => this.server.close(resolve))
  }
}
