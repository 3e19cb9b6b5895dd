"""The browser's way in: the dashboard's files and gRPC-Web, served by ``paysim serve`` itself.

gRPC-Web calls are relayed, bytes unchanged, to the process's own gRPC server over a private
socket, so that every interceptor (authentication, RBAC, validation, access log, metrics) and
every servicer applies to them exactly as to any other client's call.
"""
