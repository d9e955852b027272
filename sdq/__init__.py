"""sdq: queue-based, autoscaled serving for diffusion models (shared core; no torch, no FastAPI)."""

__version__ = "0.1.0"
