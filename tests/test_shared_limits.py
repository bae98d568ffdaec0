"""serve's workers share their rate-limit counters (web/shared_limits); the counting itself."""
import multiprocessing
import time

import pytest

from fieldkit.web import shared_limits


def test_a_window_counts_then_starts_again_when_it_ends():
    counters = shared_limits.Counters()
    assert [counters.incr("device", 1) for _ in range(3)] == [1, 2, 3]
    assert counters.get("device") == 3 and counters.incr("other", 60) == 1
    assert time.time() < counters.get_expiry("device") <= time.time() + 1
    time.sleep(1.1)
    assert counters.get("device") == 0 and counters.incr("device", 1) == 1
    counters.clear("device")
    assert counters.get("device") == 0 and counters.reset() == 1


def test_workers_reach_the_parents_counters_with_its_key_and_not_without():
    settings = shared_limits.start()
    uri, key = settings["RATELIMIT_STORAGE_URI"], settings["RATELIMIT_STORAGE_OPTIONS"]["authkey"]
    assert uri.startswith("fieldkit-shared://127.0.0.1:")
    one, two = shared_limits.SharedStorage(uri, authkey=key), shared_limits.SharedStorage(uri, authkey=key)
    assert one.check() and one.incr("limit/device", 60) == 1 and two.incr("limit/device", 60) == 2
    assert one.get("limit/device") == 2
    stranger = shared_limits.SharedStorage(uri, authkey="00" * 32)
    assert not stranger.check()
    with pytest.raises(multiprocessing.ProcessError):
        stranger.incr("limit/device", 60)
    assert one.get("limit/device") == 2
