"""sdq: queue-based, autoscaled serving for diffusion models (the shared core; no torch, no FastAPI)."""

__version__ = "0.1.0"
