"""Payment gateways behind one interface: the simulator engine, later flavoured adapters."""
