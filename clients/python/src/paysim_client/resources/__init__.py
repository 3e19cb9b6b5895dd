"""Resource namespaces of the client: one module per service, async and blocking side by side."""
