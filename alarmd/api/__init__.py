"""The HTTP API: the FastAPI app and its routes, request models, the request guard, idempotency."""
