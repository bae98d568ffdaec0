"""The HTTP layer: requests in, templates out. No SQL, no expression logic."""
