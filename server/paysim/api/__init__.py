"""gRPC servicers: proto ⇄ domain translation and nothing else."""
