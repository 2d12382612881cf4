// src/etcd/services.ts: etcd's gRPC messages, coded by what the build generated.
import protobuf from 'protobufjs'
import {describe, expect, it} from 'vitest'
import {etcdPackageDefinition, type PrebuiltType} from '../../src/etcd/services.js'
import {etcdDescriptor, prebuiltTypesSource} from '../build/bundle.js'

describe('etcd messages', () => {
  it('are encoded and decoded by the code the build generated: none is generated at run time', () => {
    const descriptor = etcdDescriptor()
    // The build's generated code, evaluated as the bundle does: what this test checks.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const prebuilt: Record<string, PrebuiltType> = new Function(`return ${prebuiltTypesSource(descriptor)}`)()
    const txn = etcdPackageDefinition(descriptor, prebuilt)['etcdserverpb.KV'].Txn as Record<string, (value: never) => unknown>
    const generate = protobuf.util.codegen
    protobuf.util.codegen = (() => {
      throw new Error('protobufjs generated code at run time')
    }) as never
    try {
      const request = {
        compare: [{key: Buffer.from('k'), range_end: Buffer.from('l'), target: 'Create', result: 'Greater', create_revision: '41'}],
        success: [{request_put: {key: Buffer.from('k'), value: Buffer.from('v'), lease: '7587869232045522443'}}],
        failure: [{request_range: {key: Buffer.from('k'), limit: '1', sort_order: 'Descend'}}],
      }
      const decoded = txn.requestDeserialize(txn.requestSerialize(request as never) as never) as typeof request
      expect(decoded.compare[0]).toMatchObject(request.compare[0])
      expect(decoded.success[0].request_put).toMatchObject(request.success[0].request_put)
      expect(decoded.failure[0].request_range).toMatchObject(request.failure[0].request_range)
      const response = {header: {revision: '9007199254740993'}, succeeded: true, responses: [{response_put: {header: {revision: '42'}}}]}
      expect(txn.responseDeserialize(txn.responseSerialize(response as never) as never)).toMatchObject(response)
    } finally {
      protobuf.util.codegen = generate
    }
  })
})
