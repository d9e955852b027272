"""AUTOMATIC1111's web UI API (`/sdapi/v1`): its request and answer shapes, and its routes."""
