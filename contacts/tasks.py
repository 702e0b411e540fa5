"""django-q2 entry points for the contact base. Thin: they take ids and call services."""

from contacts import importing, services
from contacts.services import contact_rollups_rebuild


def rollups_rebuild() -> int:
    """Recompute every contact's rollups from the activity log; returns contacts updated."""
    return contact_rollups_rebuild()


def import_job_run(job_id: int) -> None:
    """Run an admin import job in the background."""
    importing.import_job_run(job_id=job_id)


def engagement_levels_update() -> dict:
    """The daily engagement job (see config.schedules); returns its counts for the task log."""
    result = services.engagement_levels_update()
    return {
        "examined": result.examined,
        "changed": result.changed,
        "seconds": round(result.duration, 1),
    }
