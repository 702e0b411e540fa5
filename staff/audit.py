"""The audit trail of staff changes, kept by django-auditlog: which models, which fields.

Each registered model gets a log entry (who, when, which fields from what to what) whenever
one of its instances is created, saved with a change or deleted. Status moves that services
make with a conditional UPDATE (send a campaign, activate a scenario, revert a cleaning) fire
no save signal: the admin pages that ask for them record them with
`contacts.admin.audit.audit_changes`.

To audit another model, add a line to `AUDITED_MODELS` (a model that does not exist yet is
skipped, so apps can be listed before they have their models).
"""

from dataclasses import dataclass
from typing import Any

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext

SECRET_MASK = "********"

# "app_label.ModelName": auditlog.register() options. Fields that workers keep up to date
# (counters, locks, progress, timings) are left out: the trail is about what staff decided.
AUDITED_MODELS: dict[str, dict[str, Any]] = {
    "contacts.ImportJob": {
        "include_fields": [
            "original_name",
            "contact_list",
            "lead_source",
            "update_existing",
            "status",
            "created_by",
        ],
    },
    "contacts.EngagementPolicy": {"exclude_fields": ["updated_at"]},
    "segments.Segment": {
        "include_fields": [
            "name",
            "slug",
            "description",
            "rule",
            "is_active",
            "evaluation_interval_hours",
        ],
    },
    "segments.Cleaning": {
        "include_fields": [
            "criterion",
            "kind",
            "days",
            "segment",
            "status",
            "created_by",
            "revert_status",
            "reverted_by",
            "revert_requested_at",
        ],
    },
    "campaigns.SenderProfile": {
        "exclude_fields": ["updated_at"],
        # A change of secret is recorded, never its value.
        "mask_fields": ["smtp_password", "esp_api_key"],
        "mask_callable": "staff.audit.secret_mask",
    },
    "campaigns.FrequencyCap": {"exclude_fields": ["updated_at"]},
    "campaigns.BouncePolicy": {"exclude_fields": ["updated_at"]},
    "campaigns.Campaign": {
        "exclude_fields": [
            "updated_at",
            "delivery_lease_until",
            "prepared_at",
            "recipients_count",
            "active_count",
            "inactive_count",
            "suppressed_count",
            "capped_count",
        ],
        "m2m_fields": ["target_lists", "target_segments", "exclude_lists", "exclude_segments"],
    },
    "scenarios.Scenario": {"exclude_fields": ["updated_at"]},
    # Enabling a "More inspiration" template is a manager's decision.
    "scenarios.ScenarioTemplate": {"include_fields": ["is_enabled"]},
    # The scenario a block belongs to is kept with each entry, so that the scenario's trail
    # lists its blocks' changes, deleted blocks included (see `object_audit_entries`).
    "scenarios.Block": {"serialize_data": True, "serialize_kwargs": {"fields": ["scenario"]}},
    "signups.SignupForm": {"exclude_fields": ["updated_at"]},
}


def secret_mask(value: str) -> str:
    """Auditlog's default mask keeps half of the value: a secret keeps none."""
    return SECRET_MASK if value else ""


def audit_register() -> None:
    """Register the audited models that exist with auditlog (from `StaffConfig.ready`)."""
    for label, options in AUDITED_MODELS.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        if not auditlog.contains(model):
            auditlog.register(model, **options)


def object_audit_q(content_type: ContentType, object_pk: str) -> Q:
    """The entries of one object, deleted or not; a scenario's include its blocks'."""
    condition = Q(content_type=content_type, object_pk=str(object_pk))
    if (content_type.app_label, content_type.model) == ("scenarios", "scenario"):
        block_type = ContentType.objects.get_by_natural_key("scenarios", "block")
        condition |= Q(content_type=block_type, serialized_data__fields__scenario=int(object_pk))
    return condition


def object_audit_entries(obj: Model) -> QuerySet[LogEntry]:
    """The audit entries of `obj`, newest first."""
    content_type = ContentType.objects.get_for_model(obj)
    return (
        LogEntry.objects.filter(object_audit_q(content_type, obj.pk))
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")
    )


def audited_object_key(obj: Model) -> str:
    """How the audit list's `object` filter names `obj`: "<content type id>-<pk>"."""
    return f"{ContentType.objects.get_for_model(obj).pk}-{obj.pk}"


def audited_object_parse(key: str | None) -> tuple[ContentType, str] | None:
    """The content type and primary key named by `key`, None when it names no audited model
    (a hand-edited address)."""
    content_type_id, _dash, object_pk = (key or "").partition("-")
    if not (content_type_id.isdigit() and object_pk.isdigit()):
        return None
    try:
        content_type = ContentType.objects.get_for_id(int(content_type_id))
    except ContentType.DoesNotExist:
        return None
    model = content_type.model_class()
    if model is None or not auditlog.contains(model):
        return None
    return content_type, object_pk


@dataclass(frozen=True)
class ChangeRow:
    """One changed field of an entry, for display: a value change, or (`operation` set)
    objects added to or removed from a many-to-many field, listed in `after`."""

    field: str
    before: str
    after: str
    operation: str = ""


def entry_change_rows(entry: LogEntry) -> list[ChangeRow]:
    """The changes of `entry` in words: field labels, choice labels, related objects' names."""
    # Keyed by the fields' verbose names; values with choice labels and objects' names.
    display = entry.changes_display_dict
    model = entry.content_type.model_class()
    rows = []
    for name, change in entry.changes_dict.items():
        try:
            field = model._meta.get_field(name) if model else None
        except FieldDoesNotExist:
            field = None
        # As auditlog keys its display values (a reverse relation has no verbose name).
        verbose_name = getattr(field, "verbose_name", getattr(field, "name", name))
        label = str(capfirst(verbose_name))
        if isinstance(change, dict) and change.get("type") == "m2m":
            operation = gettext("added") if change.get("operation") == "add" else gettext("removed")
            objects = ", ".join(str(item) for item in change.get("objects", []))
            rows.append(ChangeRow(field=label, before="", after=objects, operation=operation))
            continue
        values = display.get(verbose_name, change)
        before, after = (list(values) + ["", ""])[:2]
        rows.append(ChangeRow(field=label, before=_empty(before), after=_empty(after)))
    return sorted(rows, key=lambda row: row.field)


def _empty(value: object) -> str:
    # Auditlog writes an empty value as "None".
    return "-" if value in (None, "None", "") else str(value)
