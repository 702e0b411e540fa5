"""Import jobs: large admin imports run by a worker, with progress and result."""

from pathlib import Path

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from contacts.models import ImportJob

_ACTIVE = (ImportJob.Status.PENDING, ImportJob.Status.RUNNING)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "original_name",
        "status",
        "progress",
        "created_count",
        "updated_count",
        "unchanged_count",
        "rejected_count",
        "merged_count",
        "created_by",
        "created_at",
    )
    list_filter = ("status",)
    list_select_related = ("created_by",)
    fieldsets = (
        (None, {"fields": ("original_name", "status", "progress", "error")}),
        (
            _("Result"),
            {
                "fields": (
                    "rows_read",
                    "created_count",
                    "updated_count",
                    "unchanged_count",
                    "rejected_count",
                    "merged_count",
                    "rejects",
                )
            },
        ),
        (
            _("Options"),
            {"fields": ("contact_list", "lead_source", "update_existing", "created_by")},
        ),
        (_("Timing"), {"fields": ("created_at", "started_at", "finished_at")}),
    )
    # Every field shown is read-only: the job is the worker's record, not a form.
    readonly_fields = tuple(name for _title, options in fieldsets for name in options["fields"])

    # Jobs are created by the contact import and written by the worker only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        # Whoever started an import may follow it (and fetch its rejects), even without
        # access to everybody's jobs.
        if (
            obj is not None
            and obj.created_by_id is not None
            and obj.created_by_id == request.user.pk
        ):
            return True
        return super().has_view_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is not None and obj.status in _ACTIVE:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=_("progress"))
    def progress(self, job: ImportJob):
        percent = job.progress_percent
        return format_html(
            '<progress max="100" value="{}">{} %</progress> {} %', percent, percent, percent
        )

    @admin.display(description=_("rejected rows"))
    def rejects(self, job: ImportJob):
        if not job.rejects_file:
            return "-"
        return format_html(
            '<a href="{}" class="rejects-download">{}</a>',
            reverse("admin:contacts_importjob_rejects", args=[job.pk]),
            _("Download the rejected rows (CSV, with line numbers and reasons)"),
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/rejects/",
                self.admin_site.admin_view(self.rejects_view),
                name="contacts_importjob_rejects",
            ),
            *super().get_urls(),
        ]

    def rejects_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        """The rejected rows of a job, for whoever may view the job."""
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        if not job.rejects_file:
            raise Http404
        name = f"{Path(job.original_name).stem or 'import'}-rejects.csv"
        return FileResponse(
            job.rejects_file.open("rb"), as_attachment=True, filename=name, content_type="text/csv"
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The page reloads itself while the worker runs (see the template).
        context["auto_refresh"] = obj is not None and obj.status in _ACTIVE
        return super().render_change_form(request, context, add, change, form_url, obj)
