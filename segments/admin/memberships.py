"""Segment memberships: every stay of a contact in a segment, read-only."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from contacts.admin.pagination import EstimatedCountPaginator
from contacts.admin.readonly import ReadOnlyAdminMixin
from segments.models import SegmentMembership


class StayFilter(admin.SimpleListFilter):
    """Current members (open stays) or past ones (closed stays)."""

    title = _("stay")
    parameter_name = "stay"

    def lookups(self, request, model_admin):
        return [("open", _("Current (open)")), ("closed", _("Past (closed)"))]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "open":
            return queryset.filter(exited_at__isnull=True)
        if self.value() == "closed":
            return queryset.filter(exited_at__isnull=False)
        return queryset


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("contact_email", "segment", "entered_at", "exited_at")
    list_filter = ("segment", StayFilter)
    list_select_related = ("contact", "segment")
    raw_id_fields = ("contact",)
    search_fields = ("contact__email",)
    search_help_text = _("An e-mail address or its beginning.")
    # Newest first by id: memberships are inserted an evaluation at a time, so the id follows
    # `entered_at`, and the primary key orders the whole table without a sort (`entered_at` is
    # only indexed per segment).
    ordering = ("-id",)
    sortable_by = ()
    # Millions of rows: never counted exactly (see contacts.admin.pagination).
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    fields = ("segment", "contact", "entered_at", "exited_at")
    readonly_fields = fields

    @admin.display(description=_("contact"))
    def contact_email(self, membership: SegmentMembership) -> str:
        return membership.contact.email

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip().lower()
        if not term:
            return queryset, False
        # A prefix on the lower-cased e-mail is served by the contact e-mail index.
        return queryset.filter(contact__email__startswith=term), False

    # Memberships are written by evaluations only.
