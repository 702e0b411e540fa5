"""django-q2 entry points for the contact base. Thin: they take ids and call services."""

from contacts.services import contact_rollups_rebuild


def rollups_rebuild() -> int:
    """Recompute every contact's rollups from the activity log; returns contacts updated."""
    return contact_rollups_rebuild()
