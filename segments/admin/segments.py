"""Segments: the rule editor with its live preview, evaluations on demand, the members."""

import json
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_q.tasks import async_task

from contacts.models import EmailStatus
from segments.forms import SegmentAdminForm
from segments.models import Segment, SegmentEvaluation
from segments.rules import rule_clean
from segments.selectors import RulePreview, rule_preview
from segments.services import segment_schedule

EVALUATION_HISTORY_LENGTH = 20


def segment_evaluations_queue(segment_ids: Iterable[int]) -> None:
    """Hand each segment to a worker once the current transaction commits."""
    for segment_id in segment_ids:
        transaction.on_commit(
            partial(
                async_task,
                "segments.tasks.segment_evaluate",
                segment_id,
                task_name=f"segment-{segment_id}",
            )
        )


def duration_display(duration: timedelta | None) -> str:
    if duration is None:
        return "-"
    seconds = duration.total_seconds()
    if seconds < 60:
        return gettext("%(seconds)s s") % {"seconds": number_format(seconds, 2)}
    return gettext("%(minutes)d min %(seconds)02d s") % {
        "minutes": seconds // 60,
        "seconds": seconds % 60,
    }


def preview_payload(preview: RulePreview) -> dict:
    """The preview as the editor reads it; every string is inserted as text, never as HTML."""
    statuses = dict(EmailStatus.choices)
    return {
        "count": preview.count,
        "sample": [
            {
                "id": contact["pk"],
                "email": contact["email"],
                "name": " ".join(
                    part for part in (contact["first_name"], contact["last_name"]) if part
                ),
                "source": contact["lead_source__name"] or "",
                "status": str(statuses.get(contact["email_status"], contact["email_status"])),
                "url": reverse("admin:contacts_contact_change", args=[contact["pk"]]),
            }
            for contact in preview.sample
        ],
        "by_source": [{"source": name, "count": count} for name, count in preview.by_source],
    }


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentAdminForm
    list_display = (
        "name",
        "slug",
        "is_active",
        "members",
        "last_evaluated_at",
        "duration",
        "next_evaluation_at",
        "evaluation_interval_hours",
    )
    list_filter = ("is_active", "is_builtin")
    search_fields = ("name", "slug")
    actions = ("evaluate_now",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "description")}),
        (_("Rule"), {"fields": ("rule",), "classes": ("wide",)}),
        (
            _("Evaluation"),
            {
                "fields": (
                    "is_active",
                    "evaluation_interval_hours",
                    "members",
                    "last_evaluated_at",
                    "duration",
                    "next_evaluation_at",
                    "is_builtin",
                )
            },
        ),
    )
    # What only exists once the segment does: shown on its change page, not on the add page.
    status_fields = ("members", "last_evaluated_at", "duration", "next_evaluation_at", "is_builtin")
    readonly_fields = (
        "members",
        "last_evaluated_at",
        "duration",
        "next_evaluation_at",
        "is_builtin",
    )

    def get_fieldsets(self, request: HttpRequest, obj: Segment | None = None):
        if obj is not None:
            return self.fieldsets
        return [
            (
                title,
                {
                    **options,
                    "fields": [f for f in options["fields"] if f not in self.status_fields],
                },
            )
            for title, options in self.fieldsets
        ]

    @admin.display(description=_("members"), ordering="member_count")
    def members(self, segment: Segment):
        if segment.pk is None:
            return "-"
        return format_html(
            '<a href="{}?segment__id__exact={}&amp;stay=open">{}</a>',
            reverse("admin:segments_segmentmembership_changelist"),
            segment.pk,
            number_format(segment.member_count, force_grouping=True),
        )

    @admin.display(description=_("last evaluation took"), ordering="last_evaluation_duration")
    def duration(self, segment: Segment) -> str:
        return duration_display(segment.last_evaluation_duration)

    # Built-in segments --------------------------------------------------------------------------

    # Other parts of Relance find the built-in segments by slug (the inactive segment feeds
    # reports and the reactivation scenario), so their slug stays and they cannot be deleted.
    def get_readonly_fields(self, request: HttpRequest, obj: Segment | None = None):
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and obj.is_builtin:
            return ("slug", *readonly)
        return readonly

    def get_prepopulated_fields(self, request: HttpRequest, obj: Segment | None = None):
        if obj is not None and obj.is_builtin:
            return {}
        return {"slug": ("name",)}

    def has_delete_permission(self, request: HttpRequest, obj: Segment | None = None) -> bool:
        if obj is not None and obj.is_builtin:
            return False
        return super().has_delete_permission(request, obj)

    # Saving -------------------------------------------------------------------------------------

    def get_form(self, request: HttpRequest, obj: Segment | None = None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.preview_url = reverse(f"{self.admin_site.name}:segments_segment_preview")
        return form

    def save_model(self, request: HttpRequest, obj: Segment, form, change: bool) -> None:
        """Save what the form edits (its `clean_rule` stored the canonical rule), then schedule.

        A change saves the form's fields only: a worker may be evaluating the segment right
        now and writing its lock, member count and timings, which a full save would undo.
        """
        was_active = bool(form.initial.get("is_active")) if change else False
        if change:
            edited = [name for name in form.cleaned_data if name in form._meta.fields]
            obj.save(update_fields=[*edited, "updated_at"])
        else:
            obj.save()
        segment_schedule(segment=obj, was_active=was_active)

    # Evaluating now -----------------------------------------------------------------------------

    @admin.action(description=_("Evaluate now"), permissions=["change"])
    def evaluate_now(self, request: HttpRequest, queryset: QuerySet[Segment]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        segment_evaluations_queue(ids)
        self._report_queued(request, len(ids))

    def evaluate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change page's "Evaluate now" button (a POST: it starts work)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        segment = self.get_object(request, unquote(object_id))
        if segment is None:
            raise Http404
        if not self.has_change_permission(request, segment):
            raise PermissionDenied
        segment_evaluations_queue([segment.pk])
        self._report_queued(request, 1)
        return HttpResponseRedirect(reverse("admin:segments_segment_change", args=[segment.pk]))

    def _report_queued(self, request: HttpRequest, count: int) -> None:
        self.message_user(
            request,
            ngettext(
                "%(count)d segment queued for evaluation: its members and count are updated "
                "when the worker is done (reload the page).",
                "%(count)d segments queued for evaluation: their members and counts are updated "
                "when the worker is done (reload the page).",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    # Preview ------------------------------------------------------------------------------------

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        """How many contacts a rule matches now, a sample and the split by lead source.

        Takes the rule as JSON text in the `rule` field (and the edited segment's id in
        `segment`, so that a rule using its own segment is refused as it would be on save).
        Mistakes come back as `{"errors": [...]}` with status 400.
        """
        if request.method != "POST":
            refused = JsonResponse({"errors": [gettext("Send the rule with POST.")]}, status=405)
            refused["Allow"] = "POST"
            return refused
        if not self.has_view_permission(request):
            return JsonResponse(
                {"errors": [gettext("You are not allowed to preview segments.")]}, status=403
            )
        try:
            rule = json.loads(request.POST.get("rule", ""))
        except ValueError:
            return JsonResponse({"errors": [gettext("The rule is not valid JSON.")]}, status=400)
        segment = request.POST.get("segment", "")
        segment_id = int(segment) if segment.isdigit() else None
        try:
            cleaned = rule_clean(rule, segment_id=segment_id)
        except ValidationError as error:
            return JsonResponse({"errors": error.messages}, status=400)
        return JsonResponse(preview_payload(rule_preview(rule=cleaned)))

    # Pages --------------------------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="segments_segment_preview",
            ),
            path(
                "<path:object_id>/evaluate/",
                self.admin_site.admin_view(self.evaluate_view),
                name="segments_segment_evaluate",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["segment_evaluations"] = [
                (evaluation, duration_display(evaluation.duration))
                for evaluation in SegmentEvaluation.objects.filter(segment=obj)[
                    :EVALUATION_HISTORY_LENGTH
                ]
            ]
            context["segment_evaluations_length"] = EVALUATION_HISTORY_LENGTH
            context["can_evaluate"] = self.has_change_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)
