"""Prometheus metrics and OpenTelemetry traces: both off unless configured, and then cheap."""
