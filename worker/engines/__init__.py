"""Engines: the base types, the loader, one module per engine (diffusers, synthetic), previews."""
