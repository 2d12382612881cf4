// src/etcd/txn-ops.ts: a transaction's operations in named groups, and etcd's answers by those names.
import type {IResponseOp} from 'etcd3'
import {describe, expect, it} from 'vitest'
import {TxnOps} from '../../src/etcd/txn-ops.js'

const read = (key: string) => ({request_range: {key: Buffer.from(key)}})
const found = (...keys: string[]) => ({response_range: {kvs: keys.map((key) => ({key: Buffer.from(key)}))}}) as unknown as IResponseOp

describe('a transaction in named groups', () => {
  const ops = new TxnOps({markers: [read('m')], standing: [read('own'), read('ahead')], pauses: [], last: [read('l')]})

  it('sends the groups in the order they were named, an empty one adding nothing', () => {
    expect(ops.ops.map((op) => op.request_range!.key!.toString())).toEqual(['m', 'own', 'ahead', 'l'])
  })

  it("gives each group back its own answers, whatever the others' sizes", () => {
    const answers = [found('m1', 'm2'), found('own'), found(), found('l')]
    const keys = (groups: Record<string, Array<Array<{key: Buffer}>>>) =>
      Object.fromEntries(Object.entries(groups).map(([name, reads]) => [name, reads.map((kvs) => kvs.map((kv) => kv.key.toString()))]))
    expect(keys(ops.found(answers))).toEqual({markers: [['m1', 'm2']], standing: [['own'], []], pauses: [], last: [['l']]})
    expect(ops.answers(answers).last).toEqual([answers[3]])
  })
})
