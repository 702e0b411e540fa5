"""Lead sources, tags, contact lists and list memberships."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from contacts.admin.pagination import QuickCountPaginator
from contacts.models import ContactList, LeadSource, ListMembership, Tag


def _contacts_link(query: str):
    """A link to the contact list filtered on this object (no count: that would scan)."""
    return format_html(
        '<a href="{}?{}">{}</a>',
        reverse("admin:contacts_contact_changelist"),
        query,
        _("View contacts"),
    )


@admin.register(LeadSource)
class LeadSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "created_at", "contacts")
    search_fields = ("name",)

    @admin.display(description=_("contacts"))
    def contacts(self, source: LeadSource):
        return _contacts_link(f"lead_source__id__exact={source.pk}")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at", "contacts")
    search_fields = ("name",)

    @admin.display(description=_("contacts"))
    def contacts(self, tag: Tag):
        return _contacts_link(f"tag={tag.pk}")


@admin.register(ContactList)
class ContactListAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "is_public", "created_at", "contacts")
    list_filter = ("is_public",)
    search_fields = ("name",)

    @admin.display(description=_("contacts"))
    def contacts(self, contact_list: ContactList):
        return _contacts_link(f"list={contact_list.pk}")


@admin.register(ListMembership)
class ListMembershipAdmin(admin.ModelAdmin):
    list_display = ("contact", "contact_list", "subscribed_at")
    list_filter = ("contact_list",)
    list_select_related = ("contact", "contact_list")
    raw_id_fields = ("contact",)
    autocomplete_fields = ("contact_list",)
    search_fields = ("contact__email",)
    search_help_text = _("An e-mail address or its beginning.")
    # Newest first by id: `subscribed_at` has no index of its own.
    ordering = ("-id",)
    sortable_by = ()
    paginator = QuickCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip().lower()
        if not term:
            return queryset, False
        # A prefix on the lower-cased e-mail is served by the contact e-mail index.
        return queryset.filter(contact__email__startswith=term), False
