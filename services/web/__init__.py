"""HTTP plumbing every service shares: API keys, health and metrics routes, errors, the server."""
