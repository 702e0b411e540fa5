"""django-q2 entry points (thin; see `scenarios.engine` and `scenarios.enrollment`)."""

from scenarios.engine import scenarios_tick as _tick
from scenarios.enrollment import scenario_existing_members_enroll


def scenarios_tick() -> str:
    """Run one engine tick; the result is kept by django-q2 for the admin's task list."""
    return str(_tick())


def scenario_enroll_existing(scenario_id: int) -> int:
    """After activation: enrol the contacts already in the scenario's trigger segment."""
    return scenario_existing_members_enroll(scenario_id)
