"""django-q2 entry points (thin; see `scenarios.engine`)."""

from scenarios.engine import scenarios_tick as _tick


def scenarios_tick() -> str:
    """Run one engine tick; the result is kept by django-q2 for the admin's task list."""
    return str(_tick())
