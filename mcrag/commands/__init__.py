"""CLI command modules, one per area; each exposes ``app`` (a Typer sub-app) or ``register(app)``."""
