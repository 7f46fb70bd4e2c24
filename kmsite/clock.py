"""The time the rate limits and the sign-in throttle go by.

One function, looked up at each call (``clock.now()``), so a test can pin
it with ``monkeypatch.setattr("kmsite.clock.now", ...)`` and step through
windows and delays without sleeping or depending on the wall clock.
"""

import time


def now():
    """Seconds since the epoch, as a float."""
    return time.time()
