"""The daily snapshots behind the dashboard's charts, read-only (the charts are on the index)."""

from django.contrib import admin

from contacts.admin.readonly import ReadOnlyAdminMixin
from dashboard.models import BaseSnapshot


@admin.register(BaseSnapshot)
class BaseSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "day",
        "total",
        "recent",
        "engaged",
        "disengaged",
        "inactive",
        "never",
        "inactive_segment_size",
        "reconstructed",
        "taken_at",
    )
    list_filter = ("reconstructed",)
    date_hierarchy = "day"
