"""Audit entries for what custom admin pages change without a save.

Services move statuses with conditional UPDATEs (two clicks cannot both win), which send no
save signal, so django-auditlog does not see them. The admin page that asked for the move
records it here; the actor is the request's user (auditlog's middleware). The audited models
and fields are listed in `staff.audit`.
"""

from auditlog.models import LogEntry
from django.db.models import Model


def audit_changes(instance: Model, *, before: dict[str, object]) -> LogEntry | None:
    """Record the fields of `before` whose value in the database is no longer the one given.

    `before` maps field names to their values before the action; the instance is refreshed
    from the database. Nothing is recorded when nothing changed.
    """
    instance.refresh_from_db(fields=list(before))
    changes = {
        name: [_text(old), _text(getattr(instance, name))]
        for name, old in before.items()
        if getattr(instance, name) != old
    }
    if not changes:
        return None
    return LogEntry.objects.log_create(instance, action=LogEntry.Action.UPDATE, changes=changes)


def _text(value: object) -> str:
    # As auditlog writes the changes it finds itself (text, "None" for an empty value).
    return str(value)
