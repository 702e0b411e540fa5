"""django-q2 entry points for the dashboard. Thin: they call services."""

from dashboard import services


def base_snapshot_take() -> dict:
    """The daily snapshot of the base (see config.schedules); returns its counts for the log."""
    snapshot = services.base_snapshot_take()
    return {
        "day": snapshot.day.isoformat(),
        "total": snapshot.total,
        "inactive_segment_size": snapshot.inactive_segment_size,
    }
