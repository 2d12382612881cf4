import protobuf from 'protobufjs'

/**
 * The gRPC services of etcd's rpc.proto, as @grpc/grpc-js's loadPackageDefinition takes them, built
 * from a descriptor that the build made from etcd3's own rpc.proto. etcd3 parses that .proto with
 * @grpc/proto-loader when it loads, which also encodes a descriptor of every message type: about 40
 * ms of every elect process. Here a message type is set up only when a call first uses it. The
 * conversions are proto-loader's, with the options etcd3 gives it.
 */
export function etcdPackageDefinition(descriptor: protobuf.INamespace): Record<string, Record<string, unknown>> {
  // Not Root.fromJSON, which resolves every type now: a type resolves its fields when first used.
  const root = new protobuf.Root()
  if (descriptor.options) root.setOptions(descriptor.options)
  root.addJSON(descriptor.nested ?? {})
  const conversion: protobuf.IConversionOptions = {longs: String, enums: String, defaults: true, oneofs: true}
  const serialize = (type: protobuf.Type) => (value: object) => type.encode(type.fromObject(value)).finish()
  const deserialize = (type: protobuf.Type) => (bytes: Uint8Array) => type.toObject(type.decode(bytes), conversion)
  const definition: Record<string, Record<string, unknown>> = {}
  const visit = (namespace: protobuf.NamespaceBase): void => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Service) {
        const name = nested.fullName.slice(1)
        definition[name] = Object.fromEntries(
          nested.methodsArray.map((method) => {
            method.resolve()
            const [request, response] = [method.resolvedRequestType!, method.resolvedResponseType!]
            return [
              method.name,
              {
                path: `/${name}/${method.name}`,
                requestStream: Boolean(method.requestStream),
                responseStream: Boolean(method.responseStream),
                requestSerialize: serialize(request),
                requestDeserialize: deserialize(request),
                responseSerialize: serialize(response),
                responseDeserialize: deserialize(response),
                originalName: method.name[0].toLowerCase() + method.name.slice(1),
              },
            ]
          }),
        )
      } else if (nested instanceof protobuf.Namespace) {
        visit(nested)
      }
    }
  }
  visit(root)
  return definition
}
