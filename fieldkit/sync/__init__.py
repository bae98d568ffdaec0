"""The laptop's side of sync: client.py speaks the protocol, runner.py runs a
whole sync (shared by `fieldkit sync` and the console's Sync now button)."""
