"""Admin for settings kept as one row (`contacts.models.SingletonModel`)."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse


class SingletonAdminMixin:
    """No list, no add, no delete: the list goes straight to the one row, created on first use."""

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        # A list of one row is a detour.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        row = self.model.load()
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=[row.pk],
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
