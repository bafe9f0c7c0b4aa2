"""Sessions: a headless supervisor per agent, its registry, its socket protocol, its clients."""
