"""The HTTP face: the gateway app, its dispatcher, retries and circuit breakers."""
