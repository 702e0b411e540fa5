"""Admin for what staff read but never write by hand: logs, memberships, reports, catalogues."""

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """No add, no change, no delete in the admin (actions and custom pages may still act)."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
