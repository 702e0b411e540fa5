"""The contact list and page, with CSV import and export through django-import-export."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods
from import_export.admin import ImportExportModelAdmin

from contacts import importing
from contacts.admin.filters import ContactListFilter, TagFilter
from contacts.admin.pagination import EstimatedCountPaginator
from contacts.forms import (
    ContactAdminForm,
    ContactConfirmImportForm,
    ContactImportForm,
    import_options,
)
from contacts.importing.columns import HeaderError
from contacts.importing.reading import UnreadableFile
from contacts.models import Activity, Contact, EngagementChange, ListMembership
from contacts.resources import ContactCsvFormat, ContactResource
from contacts.services.privacy import contact_erase, contact_export

TIMELINE_LENGTH = 50
ENGAGEMENT_HISTORY_LENGTH = 50


def contact_search_q(term: str) -> Q:
    """What the contact search box matches: an e-mail prefix, or the beginning of names.

    E-mails are stored lower-cased and their unique index uses the pattern operator class on
    PostgreSQL, so `email LIKE 'term%'` is an index range scan (ILIKE or "contains" would read
    the whole table). A term without '@' also matches the beginning of the first or last
    name, case-insensitively (`UPPER(name) LIKE 'TERM%'`, which an expression index on
    UPPER(name) can serve); "Jean Dup" or "Dupont Jean" match first and last name together.
    """
    term = " ".join(term.split())
    email_prefix = Q(email__startswith=term.lower())
    if "@" in term:
        return email_prefix
    names = Q(first_name__istartswith=term) | Q(last_name__istartswith=term)
    words = term.split(" ")
    if len(words) == 1:
        return email_prefix | names
    head, tail = words[0], " ".join(words[1:])
    names |= Q(first_name__istartswith=head, last_name__istartswith=tail)
    names |= Q(last_name__istartswith=head, first_name__istartswith=tail)
    return names


class ListMembershipInline(admin.TabularInline):
    model = ListMembership
    fields = ("contact_list", "subscribed_at")
    autocomplete_fields = ("contact_list",)
    extra = 0
    verbose_name = _("list")
    verbose_name_plural = _("lists")


@admin.register(Contact)
class ContactAdmin(ImportExportModelAdmin):
    form = ContactAdminForm
    list_display = (
        "email",
        "name",
        "lead_source",
        "email_status",
        "sms_status",
        "engagement_level",
        "score",
        "last_open_at",
        "last_click_at",
        "created_at",
    )
    list_filter = (
        "email_status",
        "sms_status",
        "engagement_level",
        "lead_source",
        ContactListFilter,
        TagFilter,
    )
    list_select_related = ("lead_source",)
    # Only columns with an index can be sorted without reading the whole table.
    sortable_by = ("email", "created_at")
    search_fields = ("email", "first_name", "last_name")
    search_help_text = _(
        "The beginning of an e-mail address, of a first or last name, or of both names."
    )
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts would count the whole table once per filter choice.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    autocomplete_fields = ("lead_source", "tags")
    inlines = (ListMembershipInline,)
    readonly_fields = (
        # Set by the daily engagement job, which records each change and scores it: a
        # hand-set level would bypass both.
        "engagement_level",
        "email_status_reason",
        "email_status_changed_at",
        "last_targeted_at",
        "last_open_at",
        "last_click_at",
        "last_purchase_at",
        "last_visit_at",
        "updated_at",
    )
    fieldsets = (
        (
            _("Identity"),
            {
                "fields": (
                    "email",
                    ("first_name", "last_name"),
                    "phone",
                    ("language", "time_zone"),
                    "lead_source",
                    "created_at",
                )
            },
        ),
        (
            _("Channels and statuses"),
            {
                "fields": (
                    "email_status",
                    ("email_status_reason", "email_status_changed_at"),
                    "sms_status",
                )
            },
        ),
        (_("Loyalty"), {"fields": ("loyalty_points", "loyalty_points_expire_on")}),
        (_("Engagement and score"), {"fields": ("engagement_level", "score", "tags")}),
        (
            _("Activity rollups"),
            {
                "fields": (
                    "last_targeted_at",
                    "last_open_at",
                    "last_click_at",
                    "last_purchase_at",
                    "last_visit_at",
                    "updated_at",
                ),
                "description": _("Maintained from the activity log; read-only."),
            },
        ),
        (_("Custom attributes"), {"fields": ("attributes",), "classes": ("collapse",)}),
    )

    # import-export
    resource_classes = (ContactResource,)
    import_form_class = ContactImportForm
    confirm_form_class = ContactConfirmImportForm
    import_template_name = "admin/contacts/contact/import.html"
    # An export is built in the request: beyond this many contacts it would hold a web
    # worker for minutes, so the user is asked to narrow the list first.
    export_max_rows = 100_000

    @admin.display(description=_("name"))
    def name(self, contact: Contact) -> str:
        return contact.full_name

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if not search_term.strip():
            return queryset, False
        return queryset.filter(contact_search_q(search_term)), False

    def save_model(self, request, obj: Contact, form, change: bool) -> None:
        if change and "email_status" in form.changed_data:
            # Dated so that an older bounce or unsubscribe arriving later cannot undo a
            # decision taken here (see contacts.services.activity).
            obj.email_status_changed_at = timezone.now()
            obj.email_status_reason = "staff"
        super().save_model(request, obj, form, change)

    def has_change_permission(self, request: HttpRequest, obj: Contact | None = None) -> bool:
        # An erased contact is an anonymised statistic: nothing about it is to be edited back
        # (its page is read-only, and stays so for superusers too).
        if obj is not None and obj.erased_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["privacy_export_url"] = reverse(
                "admin:contacts_contact_privacy_export", args=[obj.pk]
            )
            if obj.erased_at is None and self.has_delete_permission(request, obj):
                context["privacy_erase_url"] = reverse(
                    "admin:contacts_contact_privacy_erase", args=[obj.pk]
                )
            context["activity_timeline"] = list(
                Activity.objects.filter(contact=obj)
                .order_by("-occurred_at", "-id")
                .only("kind", "occurred_at", "channel", "campaign", "amount", "is_machine")[
                    :TIMELINE_LENGTH
                ]
            )
            context["activity_timeline_length"] = TIMELINE_LENGTH
            context["activity_changelist_url"] = (
                reverse("admin:contacts_activity_changelist") + f"?contact={obj.pk}"
            )
            context["engagement_history"] = list(
                EngagementChange.objects.filter(contact=obj).order_by("-changed_at", "-id")[
                    :ENGAGEMENT_HISTORY_LENGTH
                ]
            )
            context["engagement_history_length"] = ENGAGEMENT_HISTORY_LENGTH
            context["engagement_policy_url"] = reverse("admin:contacts_engagementpolicy_changelist")
        return super().render_change_form(request, context, add, change, form_url, obj)

    # GDPR: export and erasure -------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/privacy/export/",
                self.admin_site.admin_view(self.privacy_export_view),
                name="contacts_contact_privacy_export",
            ),
            path(
                "<path:object_id>/privacy/erase/",
                self.admin_site.admin_view(self.privacy_erase_view),
                name="contacts_contact_privacy_erase",
            ),
            *super().get_urls(),
        ]

    def _contact_or_404(self, request: HttpRequest, object_id: str) -> Contact:
        contact = self.get_object(request, unquote(object_id))
        if contact is None:
            raise Http404
        return contact

    @method_decorator(require_GET)
    def privacy_export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Everything held about the contact as a JSON download (a subject access request),
        logged in the admin log."""
        contact = self._contact_or_404(request, object_id)
        if not self.has_view_permission(request, contact):
            raise PermissionDenied
        data = contact_export(contact)
        self.log_change(request, contact, gettext("Exported personal data (JSON)."))
        response = JsonResponse(
            data,
            encoder=DjangoJSONEncoder,
            json_dumps_params={"indent": 2, "ensure_ascii": False},
        )
        filename = f"contact-{contact.pk}-{timezone.localdate():%Y-%m-%d}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @method_decorator(require_http_methods(["GET", "POST"]))
    def privacy_erase_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A confirmation page; its POST erases the contact's personal data (permission to
        delete contacts required) and logs it in the admin log."""
        contact = self._contact_or_404(request, object_id)
        if not self.has_delete_permission(request, contact):
            raise PermissionDenied
        change_url = reverse("admin:contacts_contact_change", args=[contact.pk])
        if request.method == "POST":
            try:
                erased = contact_erase(contact, by_user=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                return HttpResponseRedirect(change_url)
            self.log_change(request, erased, gettext("Erased personal data (GDPR)."))
            self.message_user(
                request,
                gettext(
                    "The contact's personal data was erased. Its address can no longer be "
                    "imported or signed up again."
                ),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        if contact.erased_at is not None:
            self.message_user(
                request, gettext("This contact's personal data was already erased."), messages.INFO
            )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": contact,
            "title": gettext("Erase personal data"),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/contacts/contact/erase.html", context)

    # Import and export ---------------------------------------------------------------------

    def get_import_formats(self):
        return [ContactCsvFormat]

    def get_export_formats(self):
        return [ContactCsvFormat]

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_import_context_data(self, **kwargs) -> dict:
        return {
            **super().get_import_context_data(**kwargs),
            "preview_max_rows": settings.RELANCE_IMPORT_PREVIEW_MAX_ROWS,
        }

    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs) -> dict:
        return import_options(kwargs.get("form"))

    def get_confirm_form_initial(self, request: HttpRequest, import_form) -> dict:
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            options = import_options(import_form)
            initial.update(
                update_existing=options["update_existing"],
                contact_list=options["contact_list"].pk if options["contact_list"] else None,
                lead_source=options["lead_source"].pk if options["lead_source"] else None,
            )
        return initial

    def import_action(self, request: HttpRequest, **kwargs) -> HttpResponse:
        """Upload and preview; large files go to a worker instead of the in-page preview.

        Unlike import-export's default, the confirm step is offered when some rows are
        rejected: they are listed with their line and reason and left out, as the
        command-line import does.
        """
        if request.method == "POST" and self.has_import_permission(request):
            form = self.create_import_form(request)
            if form.is_valid():
                upload = form.cleaned_data["import_file"]
                if _has_more_rows_than(upload, settings.RELANCE_IMPORT_PREVIEW_MAX_ROWS):
                    return self._hand_over_to_worker(request, upload, form)
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        result = context.get("result")
        if (
            result is not None
            and "confirm_form" not in context
            and not result.has_errors()
            and result.has_validation_errors()
            and result.valid_rows()
        ):
            context["confirm_form"] = self.create_confirm_form(request, import_form=context["form"])
        return response

    def export_action(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method == "POST"
            and "export_items" not in request.POST
            and self.has_export_permission(request)
        ):
            queryset = self.get_export_queryset(request).order_by()
            if queryset[: self.export_max_rows + 1].count() > self.export_max_rows:
                self.message_user(
                    request,
                    gettext(
                        "More than %(rows)s contacts match: narrow the list with filters or a "
                        "search before exporting."
                    )
                    % {"rows": number_format(self.export_max_rows, force_grouping=True)},
                    messages.ERROR,
                )
                changelist = reverse("admin:contacts_contact_changelist")
                return HttpResponseRedirect(f"{changelist}?{request.GET.urlencode()}")
        return super().export_action(request)

    def _hand_over_to_worker(
        self, request: HttpRequest, upload: UploadedFile, form
    ) -> HttpResponse:
        options = import_options(form)
        job = importing.import_job_create(
            file=upload,
            original_name=upload.name,
            contact_list=options["contact_list"],
            lead_source=options["lead_source"],
            update_existing=options["update_existing"],
            user=request.user,
        )
        self.message_user(
            request,
            gettext(
                "This file has more than %(rows)s rows: it is being imported in the "
                "background. This page shows its progress and result."
            )
            % {
                "rows": number_format(settings.RELANCE_IMPORT_PREVIEW_MAX_ROWS, force_grouping=True)
            },
            messages.INFO,
        )
        return HttpResponseRedirect(reverse("admin:contacts_importjob_change", args=[job.pk]))

    def add_data_read_fail_error_to_form(self, form, e: Exception) -> None:
        if isinstance(e, UnreadableFile | HeaderError):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def add_success_message(self, result, request: HttpRequest) -> None:
        summary = getattr(result, "contact_summary", None)
        if summary is None:
            return super().add_success_message(result, request)
        message = gettext(
            "Import finished: created %(created)s, updated %(updated)s, unchanged "
            "%(unchanged)s, rejected %(rejected)s, duplicates merged %(merged)s."
        ) % {
            "created": summary.created,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "rejected": summary.rejected,
            "merged": summary.merged,
        }
        if summary.contact_list is not None and summary.list_members:
            message += " " + gettext("Contacts of the file are on the list “%(list)s”.") % {
                "list": summary.contact_list
            }
        level = messages.WARNING if summary.rejected else messages.SUCCESS
        self.message_user(request, message, level)


def _has_more_rows_than(upload: UploadedFile, limit: int) -> bool:
    """Count line breaks without decoding the file, and stop as soon as it is too big.

    The header line does not count; quoted fields spanning lines may overcount, which only
    sends a borderline file to the worker.
    """
    line_breaks = 0
    try:
        for chunk in upload.chunks():
            line_breaks += chunk.count(b"\n")
            if line_breaks - 1 > limit:
                return True
        return False
    finally:
        upload.seek(0)
