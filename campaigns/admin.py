"""Sender profiles (secrets never shown back) and the frequency cap."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campaigns.forms import SenderProfileForm
from campaigns.models import FrequencyCap, SenderProfile


@admin.register(SenderProfile)
class SenderProfileAdmin(admin.ModelAdmin):
    form = SenderProfileForm
    list_display = ("name", "purpose", "from_name", "from_email", "connection", "rate_per_minute")
    list_filter = ("purpose", "connection")
    search_fields = ("name", "from_email")
    fieldsets = (
        (None, {"fields": ("name", "purpose")}),
        (_("Identity"), {"fields": ("from_name", "from_email", "reply_to")}),
        (
            _("Connection"),
            {
                "fields": (
                    "connection",
                    "smtp_host",
                    "smtp_port",
                    "smtp_username",
                    "smtp_password",
                    "smtp_use_tls",
                    "smtp_use_ssl",
                    "esp_name",
                    "esp_api_key",
                    "esp_settings",
                    "clear_secrets",
                    "rate_per_minute",
                )
            },
        ),
    )


@admin.register(FrequencyCap)
class FrequencyCapAdmin(admin.ModelAdmin):
    fields = ("per_day", "per_week", "per_month", "updated_at")
    readonly_fields = ("updated_at",)

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        # One row: go straight to it.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        cap = FrequencyCap.load()
        return HttpResponseRedirect(reverse("admin:campaigns_frequencycap_change", args=[cap.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
