"""django-q2 entry points for the contact base. Thin: they take ids and call services."""

from contacts import importing
from contacts.services import contact_rollups_rebuild


def rollups_rebuild() -> int:
    """Recompute every contact's rollups from the activity log; returns contacts updated."""
    return contact_rollups_rebuild()


def import_job_run(job_id: int) -> None:
    """Run an admin import job in the background."""
    importing.import_job_run(job_id=job_id)
