from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache

PARIS = ZoneInfo("Europe/Paris")
# 04:00 in Paris, when the daily snapshot runs.
NOW = datetime(2026, 3, 14, 4, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def empty_cache():
    """The dashboard caches its live aggregates: each test starts without them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
