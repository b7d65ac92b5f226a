"""The store's HTTP API under /v1: articles, what they are about, operations, dead letters."""
