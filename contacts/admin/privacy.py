"""The fingerprints of erased addresses: read-only, searchable by the address itself."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from contacts.models import ErasedAddress
from contacts.normalize import InvalidValue, normalize_phone
from contacts.privacy import address_digest


@admin.register(ErasedAddress)
class ErasedAddressAdmin(admin.ModelAdmin):
    """Deleting a fingerprint is the deliberate way to let an address be imported or signed
    up again (the person came back and consented); it needs the delete permission."""

    list_display = ("kind", "digest", "erased_at", "erased_by")
    list_filter = ("kind",)
    list_select_related = ("erased_by",)
    search_fields = ("digest",)
    search_help_text = _("An e-mail address or phone number: its fingerprint is looked up.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        digests = {address_digest(term.lower())}
        try:
            if phone := normalize_phone(term):
                digests.add(address_digest(phone))
        except InvalidValue:
            pass
        return queryset.filter(digest__in=digests), False
