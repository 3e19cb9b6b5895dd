"""paysim: a payment-platform simulator served over gRPC."""

__version__ = "0.1.0"
