"""The paysim.v1 contract for Python: ``paysim_proto.v1`` holds the messages and gRPC stubs
generated from ``proto/`` by ``proto/scripts/gen_protos.py`` (never edited by hand);
``paysim_proto.currency`` is the hand-written ISO 4217 table the server and the client share."""
