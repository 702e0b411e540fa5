"""List cleaning in the admin: "Clean the base" (preview, CSV, confirm), the cleanings, revert.

The pages only translate requests into calls of `segments.services.cleaning`. Confirming a
cleaning, or a revert, hands it to a worker and shows the cleaning's page, which follows its
status and reloads itself until the worker is done. Cleaning needs the "add cleaning" and
"change contact" permissions; reverting, "change cleaning" and "change contact". Cleanings are
a record: they are never edited or deleted by hand.
"""

import csv
from collections.abc import Iterable, Iterator
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from contacts.admin.audit import audit_changes
from contacts.exporting import escape_formula
from contacts.resources import EXPORT_FIELDS
from segments.forms_cleaning import CleaningForm
from segments.models import Cleaning
from segments.selectors import contact_export_rows
from segments.services import (
    CleaningCriterion,
    CleaningKind,
    cleaning_candidates,
    cleaning_preview,
    cleaning_request,
    cleaning_revert_refusal,
    cleaning_revert_request,
)

CSV_LINES_PER_CHUNK = 500


@admin.register(Cleaning)
class CleaningAdmin(admin.ModelAdmin):
    list_display = (
        "criterion",
        "status",
        "contacts_cleaned",
        "created_by",
        "created_at",
        "revert_status",
        "reverted_by",
        "reverted_at",
        "contacts_restored",
    )
    list_display_links = ("criterion",)
    list_filter = ("status", "revert_status")
    list_select_related = ("created_by", "reverted_by")
    fieldsets = (
        (None, {"fields": ("criterion", "segment", "status", "error", "contacts_cleaned")}),
        (
            _("Timing"),
            {"fields": ("created_by", "created_at", "started_at", "finished_at")},
        ),
        (
            _("Revert"),
            {
                "fields": (
                    "revert_status",
                    "revert_error",
                    "reverted_by",
                    "revert_requested_at",
                    "reverted_at",
                    "contacts_restored",
                )
            },
        ),
    )
    # Every field shown is read-only: the cleaning is the worker's record, not a form.
    readonly_fields = tuple(name for _title, options in fieldsets for name in options["fields"])

    # Permissions -----------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Adding a cleaning changes contacts: both permissions are needed.
        return super().has_add_permission(request) and request.user.has_perm(
            "contacts.change_contact"
        )

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # The cleaned contacts' previous statuses live with the cleaning: keep them.
        return False

    def has_revert_permission(self, request: HttpRequest, obj: Cleaning | None = None) -> bool:
        opts = self.opts
        return request.user.has_perm(
            f"{opts.app_label}.change_{opts.model_name}"
        ) and request.user.has_perm("contacts.change_contact")

    # Lists and pages -------------------------------------------------------------------------

    def get_list_display(self, request: HttpRequest):
        if self.has_revert_permission(request):
            return (*self.list_display, "revert_link")
        return self.list_display

    # The counts mean something once the worker is done: "-" until then.

    @admin.display(description=_("contacts cleaned"), ordering="contact_count")
    def contacts_cleaned(self, cleaning: Cleaning) -> str:
        if cleaning.status != Cleaning.Status.DONE:
            return "-"
        return number_format(cleaning.contact_count, force_grouping=True)

    @admin.display(description=_("contacts restored"), ordering="restored_count")
    def contacts_restored(self, cleaning: Cleaning) -> str:
        if cleaning.revert_status != Cleaning.RevertStatus.DONE:
            return "-"
        return number_format(cleaning.restored_count, force_grouping=True)

    @admin.display(description=_("revert"))
    def revert_link(self, cleaning: Cleaning) -> str:
        if not cleaning.can_be_reverted:
            return "-"
        return format_html(
            '<a href="{}" class="revert-link">{}</a>',
            reverse("admin:segments_cleaning_revert", args=[cleaning.pk]),
            _("Revert…"),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("clean/", view(self.clean_view), name="segments_cleaning_clean"),
            path("clean/export/", view(self.export_view), name="segments_cleaning_export"),
            path(
                "<path:object_id>/revert/",
                view(self.revert_view),
                name="segments_cleaning_revert",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return HttpResponseRedirect(reverse("admin:segments_cleaning_clean"))

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_revert": self.has_revert_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The page says where the worker is, and reloads itself while it runs (see the template).
        context["auto_refresh"] = obj is not None and obj.is_busy
        context["cleaning_notes"] = cleaning_notes(obj) if obj is not None else []
        return super().render_change_form(request, context, add, change, form_url, obj)

    # Clean the base --------------------------------------------------------------------------

    def clean_view(self, request: HttpRequest) -> HttpResponse:
        """Choose a criterion (GET), see the count, split and sample, confirm (POST)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = CleaningForm(request.POST)
            if form.is_valid():
                try:
                    cleaning = cleaning_request(
                        criterion=form.chosen_criterion(), user=request.user
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    self.message_user(
                        request,
                        gettext(
                            "Cleaning “%(criterion)s” handed to a worker: this page shows its "
                            "status."
                        )
                        % {"criterion": cleaning.criterion},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:segments_cleaning_change", args=[cleaning.pk])
                    )
            return self._clean_page(request, form)
        form = CleaningForm(request.GET if "criterion" in request.GET else None)
        return self._clean_page(request, form)

    def _clean_page(self, request: HttpRequest, form: CleaningForm) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Clean the base"),
            "form": form,
            "segment_kind": CleaningKind.SEGMENT,
        }
        if form.is_bound and form.is_valid() and request.method == "GET":
            criterion = form.chosen_criterion()
            query = _criterion_query(criterion)
            context |= {
                "criterion_label": criterion.label(),
                "preview": cleaning_preview(criterion=criterion),
                "criterion_fields": query,
                "export_url": reverse("admin:segments_cleaning_export") + "?" + urlencode(query),
            }
        return TemplateResponse(request, "admin/segments/cleaning/clean.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The contacts a criterion picks, as a streamed, spreadsheet-safe CSV file."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CleaningForm(request.GET)
        if not form.is_valid():
            self.message_user(
                request,
                gettext("Choose a valid criterion before downloading."),
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:segments_cleaning_clean"))
        criterion = form.chosen_criterion()
        rows = contact_export_rows(cleaning_candidates(criterion=criterion))
        response = StreamingHttpResponse(
            _csv_lines(list(EXPORT_FIELDS), rows), content_type="text/csv; charset=utf-8"
        )
        name = f"cleaning-{criterion.kind}-{timezone.localdate():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    # Revert ----------------------------------------------------------------------------------

    def revert_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Confirm (GET), then hand the revert of one cleaning to a worker (POST)."""
        cleaning = self.get_object(request, unquote(object_id))
        if cleaning is None:
            raise Http404
        if not self.has_revert_permission(request, cleaning):
            raise PermissionDenied
        change_url = reverse("admin:segments_cleaning_change", args=[cleaning.pk])
        if request.method == "POST":
            before = {"revert_status": cleaning.revert_status}
            try:
                cleaning_revert_request(cleaning=cleaning, user=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.WARNING)
            else:
                audit_changes(cleaning, before=before)
                self.message_user(
                    request,
                    gettext("Revert handed to a worker: this page shows its status."),
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(change_url)
        if not cleaning.can_be_reverted:
            # Already reverted, being reverted, or not done: say so on the cleaning's page.
            self.message_user(request, cleaning_revert_refusal(cleaning=cleaning), messages.WARNING)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Revert the cleaning"),
            "object": cleaning,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/segments/cleaning/revert.html", context)


def cleaning_notes(cleaning: Cleaning) -> list[tuple[str, str]]:
    """Where the worker is with `cleaning` and its revert, for the top of its page, as
    (message level, text) pairs."""
    status, revert = Cleaning.Status, Cleaning.RevertStatus
    refreshes = gettext("This page refreshes every few seconds.")
    notes = []
    if cleaning.status == status.PENDING:
        notes.append(("info", gettext("This cleaning waits for a worker.") + " " + refreshes))
    elif cleaning.status == status.RUNNING:
        notes.append(("info", gettext("A worker is running this cleaning.") + " " + refreshes))
    elif cleaning.status == status.FAILED:
        notes.append(
            (
                "error",
                gettext("This cleaning failed and changed no contact: %(error)s")
                % {"error": cleaning.error},
            )
        )
    else:
        count = cleaning.contact_count
        notes.append(
            (
                "success",
                ngettext(
                    "Done: %(count)s contact cleaned, its e-mail status is now “cleaned”.",
                    "Done: %(count)s contacts cleaned, their e-mail status is now “cleaned”.",
                    count,
                )
                % {"count": number_format(count, force_grouping=True)},
            )
        )
    if cleaning.revert_status == revert.PENDING:
        notes.append(("info", gettext("The revert waits for a worker.") + " " + refreshes))
    elif cleaning.revert_status == revert.RUNNING:
        notes.append(("info", gettext("A worker is reverting this cleaning.") + " " + refreshes))
    elif cleaning.revert_status == revert.FAILED:
        notes.append(
            (
                "error",
                gettext("The revert failed and changed no contact: %(error)s")
                % {"error": cleaning.revert_error},
            )
        )
    elif cleaning.revert_status == revert.DONE:
        count = cleaning.restored_count
        notes.append(
            (
                "success",
                ngettext(
                    "Cleaning reverted: %(count)d contact got its previous status back.",
                    "Cleaning reverted: %(count)d contacts got their previous status back.",
                    count,
                )
                % {"count": count},
            )
        )
    return notes


def _criterion_query(criterion: CleaningCriterion) -> dict[str, str]:
    """The form fields that choose `criterion` again (the download link, the confirm form)."""
    if criterion.kind == CleaningKind.SEGMENT:
        return {"criterion": criterion.kind, "segment": str(criterion.segment.pk)}
    return {"criterion": criterion.kind, "days": str(criterion.days)}


class _Echo:
    """A file whose write returns the text, so that csv.writer can feed a streamed response."""

    def write(self, text: str) -> str:
        return text


def _csv_cell(value) -> object:
    # Only text can be read as a formula; numbers (a negative score) and dates stay as they are.
    return escape_formula(value) if isinstance(value, str) else ("" if value is None else value)


def _csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # The byte-order mark makes Excel read the file as UTF-8 (accents intact).
    lines = ["\ufeff" + writer.writerow([escape_formula(name) for name in header])]
    for row in rows:
        lines.append(writer.writerow([_csv_cell(value) for value in row]))
        if len(lines) >= CSV_LINES_PER_CHUNK:
            yield "".join(lines)
            lines = []
    yield "".join(lines)
