#!/usr/bin/env node
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
// etcd3 leaves gRPC channels and timers behind even after close(); every command has released what
// it holds by now, so exit instead of waiting for them to wind down.
process.exit()
