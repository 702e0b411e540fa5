"""Audit trail display: `{% audit_trail object %}` (an object's latest entries, for those who
may read them) and `{% audit_changes entry %}` (one entry's changes as a table)."""

from auditlog.models import LogEntry
from django import template
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.urls import reverse

from staff.audit import audited_object_key, entry_change_rows, object_audit_entries

register = template.Library()

AUDIT_TRAIL_LENGTH = 30


@register.inclusion_tag("staff/audit_trail.html", takes_context=True)
def audit_trail(context, obj: Model) -> dict:
    request = context.get("request")
    if request is None or not request.user.has_perm("auditlog.view_logentry"):
        return {"allowed": False}
    entries = list(object_audit_entries(obj)[: AUDIT_TRAIL_LENGTH + 1])
    return {
        "allowed": True,
        "entries": entries[:AUDIT_TRAIL_LENGTH],
        "more": len(entries) > AUDIT_TRAIL_LENGTH,
        "length": AUDIT_TRAIL_LENGTH,
        "object_content_type_id": ContentType.objects.get_for_model(obj).pk,
        "list_url": reverse("admin:auditlog_logentry_changelist")
        + f"?object={audited_object_key(obj)}",
    }


@register.inclusion_tag("staff/entry_changes.html")
def audit_changes(entry: LogEntry) -> dict:
    if entry.action == LogEntry.Action.DELETE:
        return {"rows": []}
    return {"rows": entry_change_rows(entry)}
