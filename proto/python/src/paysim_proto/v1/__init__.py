"""Generated protobuf messages and gRPC stubs of the paysim.v1 contract."""
