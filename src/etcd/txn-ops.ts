import type {IKeyValue, IRequestOp, IResponseOp} from 'etcd3'

/**
 * One branch of a transaction, its operations in groups by name, and etcd's answers back under the
 * same names: a caller never counts positions in a transaction that several rooms put together.
 */
export class TxnOps<N extends string> {
  readonly ops: IRequestOp[]

  constructor(private readonly groups: Record<N, IRequestOp[]>) {
    this.ops = this.names().flatMap((name) => groups[name])
  }

  /** etcd's answers to `ops` (the responses of the branch that ran), by group. */
  answers(responses: IResponseOp[]): Record<N, IResponseOp[]> {
    const answers = {} as Record<N, IResponseOp[]>
    let at = 0
    for (const name of this.names()) {
      answers[name] = responses.slice(at, at + this.groups[name].length)
      at += this.groups[name].length
    }
    return answers
  }

  /** The keys each read of each group found (every op of these groups a read). */
  found(responses: IResponseOp[]): Record<N, IKeyValue[][]> {
    const answers = this.answers(responses)
    const found = {} as Record<N, IKeyValue[][]>
    for (const name of this.names()) found[name] = answers[name].map((answer) => answer.response_range.kvs)
    return found
  }

  private names(): N[] {
    return Object.keys(this.groups) as N[]
  }
}
