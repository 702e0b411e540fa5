"""The built-in segments. Idempotent: a segment whose slug exists is left as staff edited it."""

from django.db import migrations


def _all(*conditions):
    return {"match": "all", "conditions": list(conditions)}


def _date(field, operator, value=None, unit=None):
    condition = {"field": field, "operator": operator}
    if value is not None:
        condition |= {"value": value, "unit": unit}
    return condition


def _level(level):
    return _all({"field": "engagement_level", "operator": "is", "value": [level]})


BUILTIN_SEGMENTS = [
    {
        "slug": "inactive",
        "name": "Inactive",
        "description": (
            "Subscribed, in the base for more than 6 months, targeted within the last 3 months, "
            "and no human open and no click within the last 6 months."
        ),
        "rule": _all(
            {"field": "email_status", "operator": "is", "value": ["subscribed"]},
            _date("created_at", "more_than", 6, "months"),
            _date("last_targeted_at", "within", 3, "months"),
            _date("last_open_at", "not_within", 6, "months"),
            _date("last_click_at", "not_within", 6, "months"),
        ),
    },
    {
        "slug": "lapsed-buyers",
        "name": "Lapsed buyers",
        "description": "Has purchased before, but not within the last 12 months.",
        "rule": _all(_date("last_purchase_at", "more_than", 12, "months")),
    },
    {
        "slug": "never-opened",
        "name": "Never opened",
        "description": (
            "In the base for more than 3 months, received at least one e-mail, "
            "never opened (human opens) nor clicked."
        ),
        "rule": _all(
            _date("created_at", "more_than", 3, "months"),
            _date("last_targeted_at", "ever"),
            _date("last_open_at", "never"),
            _date("last_click_at", "never"),
        ),
    },
    {
        "slug": "never-clicked",
        "name": "Never clicked",
        "description": "In the base for more than 6 months, received at least 5 e-mails, never clicked.",
        "rule": _all(
            _date("created_at", "more_than", 6, "months"),
            {"field": "emails_received", "operator": "at_least", "value": 5, "within": None},
            _date("last_click_at", "never"),
        ),
    },
    {
        "slug": "engaged",
        "name": "Engaged",
        "description": "Engagement level: engaged.",
        "rule": _level("engaged"),
    },
    {
        "slug": "recent-activity",
        "name": "Recent activity",
        "description": "Engagement level: engaged with recent activity.",
        "rule": _level("recent"),
    },
    {
        "slug": "disengaged",
        "name": "Disengaged",
        "description": "Engagement level: disengaged.",
        "rule": _level("disengaged"),
    },
    {
        "slug": "inactive-30d",
        "name": "Inactive for 30 days",
        "description": "Engagement level: inactive (no engagement for more than 30 days).",
        "rule": _level("inactive"),
    },
    {
        "slug": "loyalty-expiring",
        "name": "Loyalty points expiring",
        "description": "Has loyalty points, and they expire within the next 30 days.",
        "rule": _all(
            {"field": "loyalty_points", "operator": "gt", "value": 0},
            {
                "field": "loyalty_points_expire_on",
                "operator": "within_next",
                "value": 30,
                "unit": "days",
            },
        ),
    },
]


def install(apps, schema_editor):
    Segment = apps.get_model("segments", "Segment")
    db = schema_editor.connection.alias
    for spec in BUILTIN_SEGMENTS:
        Segment.objects.using(db).get_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "description": spec["description"],
                "rule": spec["rule"],
                "is_active": True,
                "is_builtin": True,
            },
        )


def uninstall(apps, schema_editor):
    Segment = apps.get_model("segments", "Segment")
    Segment.objects.using(schema_editor.connection.alias).filter(
        slug__in=[spec["slug"] for spec in BUILTIN_SEGMENTS], is_builtin=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("segments", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
