"""Use cases. Each takes the caller's Principal explicitly and raises domain errors."""
