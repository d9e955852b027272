"""Webhook delivery: a CPU-only service that signs (Standard Webhooks), delivers and retries."""
