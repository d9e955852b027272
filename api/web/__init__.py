"""The web UI the API serves itself: the playground at `/` and the operator console at `/ops`."""
