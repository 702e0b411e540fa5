"""Campaigns (compose, preview, audience), sender profiles (secrets never shown back) and the
frequency cap."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.audience import NO_PHONE, Audience, campaign_audience
from campaigns.delivery import DeliveryError, campaign_test_send
from campaigns.forms import (
    SECRET_FIELDS,
    CampaignForm,
    CampaignScheduleForm,
    CampaignTestSendForm,
    SenderProfileForm,
)
from campaigns.models import BouncePolicy, Campaign, FrequencyCap, Message, SenderProfile
from campaigns.rendering import (
    campaign_render,
    email_footer_needed,
    sample_contact,
    sms_segments,
    sms_size_display,
)
from campaigns.reports import campaign_report
from campaigns.services import (
    CampaignStateError,
    campaign_cancel,
    campaign_pause,
    campaign_ready_problems,
    campaign_resume,
    campaign_schedule,
)
from campaigns.tasks import campaign_deliver_queue
from contacts.admin.audit import audit_changes
from contacts.admin.singletons import SingletonAdminMixin
from contacts.models import Contact, EmailStatus, SmsStatus


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

    # Secrets are write-only. Whoever may only view a profile gets a page without them: a
    # read-only page would print the stored values.

    def _view_only(self, request: HttpRequest, obj: SenderProfile | None) -> bool:
        return obj is not None and not self.has_change_permission(request, obj)

    def get_fieldsets(self, request: HttpRequest, obj: SenderProfile | None = None):
        if not self._view_only(request, obj):
            return self.fieldsets
        hidden = {*SECRET_FIELDS, "clear_secrets"}
        return [
            (title, {**options, "fields": [f for f in options["fields"] if f not in hidden]})
            for title, options in self.fieldsets
        ]

    def get_form(self, request: HttpRequest, obj: SenderProfile | None = None, **kwargs):
        if self._view_only(request, obj):
            # SenderProfileForm handles the secret fields, which this page leaves out.
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, **kwargs)


@admin.register(FrequencyCap)
class FrequencyCapAdmin(SingletonAdminMixin, admin.ModelAdmin):
    fields = ("per_day", "per_week", "per_month", "updated_at")
    readonly_fields = ("updated_at",)


@admin.register(BouncePolicy)
class BouncePolicyAdmin(SingletonAdminMixin, admin.ModelAdmin):
    fields = ("soft_bounce_limit", "updated_at")
    readonly_fields = ("updated_at",)


def _count(value: int) -> str:
    return number_format(value, force_grouping=True)


def suppressed_rows(audience: Audience) -> list[tuple[str, str]]:
    """Suppressed contacts by reason, as (label, count), largest first."""
    statuses = dict(
        SmsStatus.choices if audience.channel == Campaign.Channel.SMS else EmailStatus.choices
    )
    labels = {NO_PHONE: gettext("No phone number")} | {
        key: str(label) for key, label in statuses.items()
    }
    return [
        (labels.get(reason, reason), _count(count))
        for reason, count in sorted(audience.suppressed_by_reason.items(), key=lambda kv: -kv[1])
    ]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = (
        "name",
        "channel",
        "status",
        "recipients",
        "inactive_share",
        "created_at",
    )
    list_filter = ("status", "channel", "kind", "created_at")
    search_fields = ("name",)
    date_hierarchy = "created_at"
    filter_horizontal = ("target_lists", "target_segments", "exclude_lists", "exclude_segments")
    fieldsets = (
        (None, {"fields": ("name", "channel")}),
        (_("Sender"), {"fields": ("sender_profile", "reactivation_profile")}),
        (
            _("Content"),
            {
                "fields": (
                    "subject",
                    "preheader",
                    "html_body",
                    "text_body",
                    "sms_text",
                    "sms_size",
                ),
                "description": _(
                    "Django template language with the contact's fields: {{ first_name }}, "
                    "{{ last_name }}, {{ full_name }}, {{ email }}, {{ loyalty_points }}, "
                    '{{ loyalty_points_expire_on|date:"d/m/Y" }}, {{ score }}, '
                    "{{ lead_source }}, {{ attributes.tier }}. A missing value renders empty."
                ),
            },
        ),
        (
            _("Audience"),
            {
                "fields": (
                    "target_lists",
                    "target_segments",
                    "exclude_lists",
                    "exclude_segments",
                    "inactive_share_percent",
                )
            },
        ),
        (_("Schedule"), {"fields": ("scheduled_at",)}),
    )
    status_fieldset = (
        _("Status"),
        {
            "fields": (
                "status",
                "kind",
                "recipients_count",
                "active_count",
                "inactive_count",
                "inactive_share",
                "suppressed_count",
                "capped_count",
                "started_at",
                "finished_at",
                "created_by",
                "created_at",
            )
        },
    )
    # Everything in the status section is set by sending, never typed.
    readonly_fields = ("sms_size", *status_fieldset[1]["fields"])

    def get_fieldsets(self, request: HttpRequest, obj: Campaign | None = None):
        if obj is None:
            return self.fieldsets
        return (*self.fieldsets, self.status_fieldset)

    @admin.display(description=_("recipients"), ordering="recipients_count")
    def recipients(self, campaign: Campaign) -> str:
        return _count(campaign.recipients_count)

    @admin.display(description=_("inactive recipients (% of active)"))
    def inactive_share(self, campaign: Campaign) -> str:
        share = campaign.inactive_share_actual
        if share is None:
            return "-"
        return f"{number_format(share, 2)} %"

    @admin.display(description=_("SMS length"))
    def sms_size(self, campaign: Campaign) -> str:
        return sms_size_display(campaign.sms_text) if campaign.sms_text else "-"

    # Only drafts are edited: once scheduled, what is sent must be what was checked. ------------

    def has_change_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    # Pages --------------------------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="campaigns_campaign_preview",
            ),
            path(
                "<path:object_id>/audience/",
                self.admin_site.admin_view(self.audience_view),
                name="campaigns_campaign_audience",
            ),
            path(
                "<path:object_id>/send/",
                self.admin_site.admin_view(self.send_view),
                name="campaigns_campaign_send",
            ),
            path(
                "<path:object_id>/report/",
                self.admin_site.admin_view(self.report_view),
                name="campaigns_campaign_report",
            ),
            *super().get_urls(),
        ]

    def _viewable(self, request: HttpRequest, object_id: str) -> Campaign:
        campaign = self.get_object(request, unquote(object_id))
        if campaign is None:
            raise Http404
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return campaign

    def _page_context(self, request: HttpRequest, campaign: Campaign, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": campaign,
            "title": title,
            "has_view_permission": True,
        }

    def preview_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The campaign rendered for a contact chosen by e-mail, else the audience's first one,
        else a made-up sample contact. HTML goes into a sandboxed iframe: its scripts never run
        in the admin."""
        campaign = self._viewable(request, object_id)
        email = request.GET.get("email", "").strip().lower()
        contact, source = None, "audience"
        if email:
            contact = Contact.objects.select_related("lead_source").filter(email=email).first()
            source = "email"
            if contact is None:
                self.message_user(
                    request, gettext("No contact has this e-mail address."), messages.WARNING
                )
        if contact is None:
            contact = self._first_recipient(campaign)
        if contact is None:
            contact, source = sample_contact(), "sample"
        rendered, errors = None, []
        try:
            rendered = campaign_render(campaign=campaign, contact=contact)
        except ValidationError as error:
            errors = [
                f"{Campaign._meta.get_field(field).verbose_name}: {message}"
                for field, field_messages in error.message_dict.items()
                for message in field_messages
            ]
        context = self._page_context(
            request, campaign, gettext("Preview of “%(name)s”") % {"name": campaign.name}
        ) | {
            "contact": contact,
            "contact_source": source,
            "footer_added": campaign.channel == Campaign.Channel.EMAIL
            and email_footer_needed(campaign),
            "email": email,
            "rendered": rendered,
            "render_errors": errors,
            "is_sms": campaign.channel == Campaign.Channel.SMS,
            "sms_size": sms_segments(rendered.sms) if rendered else None,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/preview.html", context)

    def _first_recipient(self, campaign: Campaign) -> Contact | None:
        audience = campaign_audience(campaign=campaign)
        contact = audience.active_contacts.select_related("lead_source").order_by("pk").first()
        if contact is None and audience.inactive_included:
            contact = audience.inactive_candidate_contacts.select_related("lead_source").first()
        return contact

    def audience_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Who the campaign would go to now, step by step (computed on demand: a few seconds
        at a million contacts)."""
        campaign = self._viewable(request, object_id)
        audience = campaign_audience(campaign=campaign)
        share = Decimal(campaign.inactive_share_percent).normalize()
        context = self._page_context(
            request, campaign, gettext("Audience of “%(name)s”") % {"name": campaign.name}
        ) | {
            "audience": audience,
            "counts": {
                name: _count(getattr(audience, name))
                for name in (
                    "targeted",
                    "excluded",
                    "suppressed",
                    "capped_active",
                    "capped_inactive",
                    "active",
                    "inactive",
                    "enrolled_skipped",
                    "inactive_candidates",
                    "inactive_limit",
                    "inactive_included",
                    "recipients",
                )
            },
            "suppressed_rows": suppressed_rows(audience),
            "share": number_format(share),
            "is_regular": campaign.kind == Campaign.Kind.REGULAR,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/audience.html", context)

    # Sending ------------------------------------------------------------------------------------

    def has_send_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.send_campaign")

    def send_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Test send, send now or at a time, pause, resume, cancel. Each action is a POST; a
        campaign that moved on since the page was shown gets a message, never a traceback."""
        campaign = self._viewable(request, object_id)
        test_form = CampaignTestSendForm(
            request.POST if request.POST.get("action") == "test" else None, campaign=campaign
        )
        schedule_form = CampaignScheduleForm(
            request.POST if request.POST.get("action") == "schedule" else None
        )
        if request.method == "POST":
            response = self._send_action(request, campaign, test_form, schedule_form)
            if response is not None:
                return response
        context = self._page_context(
            request, campaign, gettext("Send “%(name)s”") % {"name": campaign.name}
        ) | {
            "problems": campaign_ready_problems(campaign)
            if campaign.status == Campaign.Status.DRAFT
            else [],
            "test_form": test_form,
            "schedule_form": schedule_form,
            "can_send": self.has_send_permission(request),
            "can_test": self.has_send_permission(request)
            or super().has_change_permission(request, campaign),
            "Status": Campaign.Status,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/send.html", context)

    def _send_action(self, request, campaign, test_form, schedule_form) -> HttpResponse | None:
        action = request.POST.get("action")
        here = HttpResponseRedirect(request.path)
        if action == "test":
            if not (
                self.has_send_permission(request)
                or super().has_change_permission(request, campaign)
            ):
                raise PermissionDenied
            if not test_form.is_valid():
                return None
            try:
                campaign_test_send(
                    campaign=campaign,
                    to=test_form.cleaned_data["to"],
                    contact=test_form.cleaned_data["contact"],
                )
            except DeliveryError as error:
                self.message_user(
                    request,
                    gettext("The test could not be sent: %(reason)s") % {"reason": error.reason},
                    messages.ERROR,
                )
                return None
            self.message_user(
                request,
                gettext("Test sent to %(to)s.") % {"to": test_form.cleaned_data["to"]},
                messages.SUCCESS,
            )
            return here
        if not self.has_send_permission(request):
            raise PermissionDenied
        before = {"status": campaign.status, "scheduled_at": campaign.scheduled_at}
        try:
            if action == "send":
                campaign_schedule(campaign=campaign)
                campaign_deliver_queue(campaign.pk)
                done = gettext("Sending has started.")
            elif action == "schedule":
                if not schedule_form.is_valid():
                    return None
                campaign_schedule(campaign=campaign, at=schedule_form.cleaned_data["at"])
                done = gettext("Scheduled.")
            elif action == "pause":
                campaign_pause(campaign=campaign)
                done = gettext("Paused: sending stops after the batch in hand.")
            elif action == "resume":
                campaign_resume(campaign=campaign)
                if campaign.status == Campaign.Status.SENDING:
                    campaign_deliver_queue(campaign.pk)
                done = gettext("Resumed.")
            elif action == "cancel":
                campaign_cancel(campaign=campaign)
                done = gettext("Cancelled: messages not sent yet never will be.")
            else:
                return None
        except ValidationError as error:
            for problem in error.messages:
                self.message_user(request, problem, messages.ERROR)
            return here
        except CampaignStateError as error:
            self.message_user(request, str(error), messages.ERROR)
            return here
        audit_changes(campaign, before=before)
        self.message_user(request, done, messages.SUCCESS)
        return here

    def report_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        campaign = self._viewable(request, object_id)
        report = campaign_report(campaign)
        outcome_rows = [
            (label, _count(report.outcomes[name]), report.rate(name))
            for name, label in (
                ("delivered", gettext("Delivered (reported by the provider)")),
                ("opened", gettext("Opened (people)")),
                ("machine_opened", gettext("Opened by a machine only")),
                ("clicked", gettext("Clicked")),
                ("unsubscribed", gettext("Unsubscribed")),
                ("bounced", gettext("Bounced")),
                ("complained", gettext("Complaints")),
            )
        ]
        statuses = dict(Message.Status.choices)
        context = self._page_context(
            request, campaign, gettext("Report of “%(name)s”") % {"name": campaign.name}
        ) | {
            "report": report,
            "status_rows": [
                (statuses[status], _count(report.by_status.get(status, 0)))
                for status in Message.Status.values
            ],
            "outcome_rows": outcome_rows,
            "inactive_share": self.inactive_share(campaign),
            "inactive_allowed": number_format(Decimal(campaign.inactive_share_percent).normalize()),
        }
        return TemplateResponse(request, "admin/campaigns/campaign/report.html", context)
