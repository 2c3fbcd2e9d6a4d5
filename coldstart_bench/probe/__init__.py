"""The HTTP client that times each request: connect, TLS, TTFB, SSE tokens."""
