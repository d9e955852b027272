"""The native predictions API, shaped like Replicate's: predictions, streams, models, files."""
