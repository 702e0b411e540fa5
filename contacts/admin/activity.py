"""The activity log: read-only, thirty million rows and counting."""

from django.contrib import admin

from contacts.admin.pagination import QuickCountPaginator
from contacts.admin.readonly import ReadOnlyAdminMixin
from contacts.models import Activity


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "kind",
        "contact",
        "channel",
        "campaign",
        "amount",
        "is_machine",
    )
    list_filter = ("kind", "channel", "is_machine")
    list_select_related = ("contact",)
    raw_id_fields = ("contact",)
    # Newest first by id: the primary key is the only index that orders the whole log
    # (`occurred_at` is indexed per contact only). A contact's own events come first by date
    # on the contact page.
    ordering = ("-id",)
    sortable_by = ()
    paginator = QuickCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    fields = (
        "contact",
        "kind",
        "occurred_at",
        "channel",
        "campaign",
        "amount",
        "is_machine",
        "external_id",
        "metadata",
        "natural_key",
        "recorded_at",
    )
    readonly_fields = fields

    # The log is append-only: events are recorded by imports, tracking and webhooks.
