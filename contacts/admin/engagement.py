"""The engagement policy: one row, edited in place (no list, no add, no delete)."""

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.admin.singletons import SingletonAdminMixin
from contacts.models import EngagementPolicy


@admin.register(EngagementPolicy)
class EngagementPolicyAdmin(SingletonAdminMixin, admin.ModelAdmin):
    fieldsets = (
        (
            _("Periods"),
            {
                "fields": ("recent_days", "engaged_days", "disengaged_days"),
                "description": _(
                    "Days since the contact's last engagement: a human open, a click or a "
                    "visit. Never engaged: none at all. The daily job applies them to every "
                    "contact."
                ),
            },
        ),
        (
            _("Score changes"),
            {
                "fields": (
                    "score_recent",
                    "score_engaged",
                    "score_disengaged",
                    "score_inactive",
                    "score_never",
                ),
                "description": _(
                    "Added to a contact's score each time its level changes to this one "
                    "(negative amounts lower it). A move between recent activity and engaged "
                    "leaves the score as it is."
                ),
            },
        ),
        (_("Last change"), {"fields": ("updated_at", "updated_by")}),
    )
    readonly_fields = ("updated_at", "updated_by")

    def save_model(self, request: HttpRequest, obj: EngagementPolicy, form, change: bool) -> None:
        obj.updated_at = timezone.now()
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
