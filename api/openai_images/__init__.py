"""OpenAI's Images API (`/v1/images`): its request and answer shapes, and its routes."""
