"""django-q2 entry points (thin; see `scenarios.engine` and `scenarios.enrollment`)."""

from datetime import datetime

from scenarios.engine import scenarios_tick as _tick
from scenarios.enrollment import scenario_members_enroll


def scenarios_tick() -> str:
    """Run one engine tick; the result is kept by django-q2 for the admin's task list."""
    return str(_tick())


def scenario_segment_members_enroll(scenario_id: int, entered_since: str | None = None) -> int:
    """After activation (or resuming, with the pause's start as an ISO time): enrol the
    contacts in the scenario's trigger segment."""
    since = datetime.fromisoformat(entered_since) if entered_since else None
    return scenario_members_enroll(scenario_id=scenario_id, entered_since=since)
