"""The live feed: one reader per process fanning enriched articles out to Server-Sent Events clients."""
