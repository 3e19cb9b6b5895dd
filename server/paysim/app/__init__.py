"""The gRPC application: server assembly, interceptors, policies, health."""
