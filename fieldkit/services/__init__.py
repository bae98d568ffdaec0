"""Use cases: what the CLI and the web both call. No HTTP, no SQL here."""
