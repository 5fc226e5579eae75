"""CLI command groups; each module exposes `register(app)` (see rlboundary.cli)."""
