"""Scenarios in the admin: the template catalogue (two tabs), creating a scenario from a template
or a blank canvas, the scenario page (diagram with live counts, blocks, results, activation),
the enrollments with their log, and the generic channel entries exported as CSV."""

import csv
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from contacts.admin.pagination import QuickCountPaginator
from contacts.admin.readonly import ReadOnlyAdminMixin
from contacts.exporting import escape_formula
from scenarios.diagram import scenario_diagram
from scenarios.forms import BlockForm, ScenarioCreateForm
from scenarios.models import (
    Block,
    Enrollment,
    EnrollmentStep,
    GenericChannelEntry,
    Scenario,
    ScenarioTemplate,
)
from scenarios.reports import scenario_block_counts, scenario_results
from scenarios.services import (
    block_remove,
    scenario_activate,
    scenario_check,
    scenario_create_blank,
    scenario_create_from_template,
    scenario_pause,
    scenario_resume,
    scenario_structure_editable,
)

CATEGORY_PARAM = "category__exact"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{number_format(value * 100, 1)} %"


# The catalogue ----------------------------------------------------------------------------------


@admin.register(ScenarioTemplate)
class ScenarioTemplateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    change_list_template = "admin/scenarios/scenariotemplate/change_list.html"
    list_display = ("name", "description", "is_enabled", "create_link")
    list_display_links = None
    actions = ["enable"]
    fields = ("name", "slug", "category", "description", "is_enabled", "position")
    readonly_fields = fields
    sortable_by = ()

    def has_enable_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.enable_scenariotemplate")

    def _can_create(self, request: HttpRequest) -> bool:
        return request.user.has_perm("scenarios.add_scenario")

    @admin.display(description=_("create"))
    def create_link(self, template: ScenarioTemplate) -> str:
        if not template.is_enabled:
            return format_html(
                '<span class="scenario-template-disabled">{}</span>',
                gettext("Not enabled: an administrator can enable it."),
            )
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:scenarios_scenariotemplate_create", args=[template.pk]),
            gettext("Create a scenario"),
        )

    @admin.action(description=_("Enable the selected templates"), permissions=["enable"])
    def enable(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.filter(is_enabled=False).update(is_enabled=True)
        self.message_user(
            request,
            ngettext("%(count)d template enabled.", "%(count)d templates enabled.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # The catalogue is shown as tabs: one category at a time, Essentials first.
        category = request.GET.get(CATEGORY_PARAM)
        if category not in ScenarioTemplate.Category.values:
            query = request.GET.copy()
            query[CATEGORY_PARAM] = ScenarioTemplate.Category.ESSENTIALS
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
        tabs = [
            {
                "label": label,
                "url": f"{request.path}?{urlencode({CATEGORY_PARAM: value})}",
                "current": value == category,
            }
            for value, label in ScenarioTemplate.Category.choices
        ]
        extra_context = (extra_context or {}) | {
            "catalogue_tabs": tabs,
            "blank_url": reverse("admin:scenarios_scenariotemplate_blank")
            if self._can_create(request)
            else "",
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "blank/",
                self.admin_site.admin_view(self.blank_view),
                name="scenarios_scenariotemplate_blank",
            ),
            path(
                "<path:object_id>/create/",
                self.admin_site.admin_view(self.create_view),
                name="scenarios_scenariotemplate_create",
            ),
            *super().get_urls(),
        ]

    def create_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        template = self.get_object(request, unquote(object_id))
        if template is None:
            raise Http404
        return self._create_page(request, template)

    def blank_view(self, request: HttpRequest) -> HttpResponse:
        return self._create_page(request, None)

    def _create_page(self, request: HttpRequest, template: ScenarioTemplate | None):
        """Name the scenario and choose its contact base; then open it for editing."""
        if not self._can_create(request):
            raise PermissionDenied
        form = ScenarioCreateForm(request.POST or None)
        if template is not None and not template.is_enabled:
            self.message_user(
                request,
                gettext(
                    "The template “%(name)s” is not enabled: ask an administrator to enable it."
                )
                % {"name": template.name},
                messages.ERROR,
            )
            if request.method == "POST":
                return HttpResponseRedirect(
                    reverse("admin:scenarios_scenariotemplate_changelist")
                    + f"?{CATEGORY_PARAM}={template.category}"
                )
        if request.method == "POST" and form.is_valid():
            fields = {
                "name": form.cleaned_data["name"],
                "contact_list": form.cleaned_data["contact_list"],
                "created_by": request.user,
            }
            try:
                if template is None:
                    scenario = scenario_create_blank(**fields)
                else:
                    scenario = scenario_create_from_template(template=template, **fields)
            except ValidationError as error:
                for message in error.messages:
                    self.message_user(request, message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext(
                        "The scenario “%(name)s” was created: adjust its blocks, then activate it."
                    )
                    % {"name": scenario.name},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:scenarios_scenario_change", args=[scenario.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Create a scenario from “%(name)s”") % {"name": template.name}
            if template
            else gettext("Create a scenario from a blank canvas"),
            "template": template,
            "form": form,
        }
        return TemplateResponse(request, "admin/scenarios/scenariotemplate/create.html", context)


# Scenarios --------------------------------------------------------------------------------------


class BlockInline(admin.TabularInline):
    model = Block
    form = BlockForm
    extra = 0
    fields = ("position", "key", "kind", "name", "config", "next", "campaign")
    ordering = ("position", "pk")
    show_change_link = False

    # Blocks are edited only while the scenario is a draft or paused: the engine must never
    # find a branch leading to a block that disappeared under it.

    def has_add_permission(self, request: HttpRequest, obj: Scenario | None = None) -> bool:
        editable = obj is None or scenario_structure_editable(obj)
        return editable and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Scenario | None = None) -> bool:
        editable = obj is None or scenario_structure_editable(obj)
        return editable and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Scenario | None = None) -> bool:
        editable = obj is None or scenario_structure_editable(obj)
        return editable and super().has_delete_permission(request, obj)


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    change_form_template = "admin/scenarios/scenario/change_form.html"
    inlines = [BlockInline]
    list_display = ("name", "template", "status", "contact_base", "activated_at", "created_at")
    list_filter = ("status", "template")
    list_select_related = ("template", "contact_list")
    search_fields = ("name",)
    fields = (
        "name",
        "description",
        "contact_list",
        "only_new_entries",
        "goal_percent",
        "template",
        "status",
        "activated_at",
        "created_by",
        "created_at",
    )
    readonly_fields = ("template", "status", "activated_at", "created_by", "created_at")

    @admin.display(description=_("contact base"), ordering="contact_list__name")
    def contact_base(self, scenario: Scenario) -> str:
        return scenario.contact_list.name if scenario.contact_list else gettext("All contacts")

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.activate_scenario")

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        # A scenario starts from the catalogue (a template or a blank canvas).
        return HttpResponseRedirect(reverse("admin:scenarios_scenariotemplate_changelist"))

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        scenario = self.get_object(request, unquote(object_id))
        extra_context = extra_context or {}
        if scenario is not None:
            counts = scenario_block_counts(scenario)
            extra_context |= {
                "diagram": scenario_diagram(scenario, counts),
                "results": scenario_results(scenario),
                "percent": _percent,
                "structure_editable": scenario_structure_editable(scenario),
                "problems": scenario_check(scenario)
                if scenario.status != Scenario.Status.ACTIVE
                else [],
                "can_activate": self.has_activate_permission(request),
                "Status": Scenario.Status,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, *args, **kwargs):
        results = context.get("results")
        if results is not None:
            context["result_rows"] = [
                {
                    "row": row,
                    "rate": _percent(row.rate),
                    "interval": f"{_percent(row.interval.low)} – {_percent(row.interval.high)}"
                    if row.interval
                    else "-",
                    "vs_control": "-"
                    if row.vs_control is None
                    else f"{number_format(row.vs_control * 100, 1, force_grouping=False)} pts",
                }
                for row in results.rows
            ]
            context["goal_rate"] = _percent(results.rate)
        return super().render_change_form(request, context, *args, **kwargs)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Block:
            return super().save_formset(request, form, formset, change)
        blocks = formset.save(commit=False)
        for block in formset.deleted_objects:
            exited = block_remove(block=block)
            if exited:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d enrollment waiting at “%(block)s” exited.",
                        "%(count)d enrollments waiting at “%(block)s” exited.",
                        exited,
                    )
                    % {"count": exited, "block": block},
                    messages.WARNING,
                )
        for block in blocks:
            block.save()
        formset.save_m2m()

    def get_urls(self):
        return [
            path(
                "<path:object_id>/status/",
                self.admin_site.admin_view(self.status_view),
                name="scenarios_scenario_status",
            ),
            *super().get_urls(),
        ]

    def status_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Activate, pause or resume (POST). Activation failures are listed, one message each,
        and nothing changes."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        scenario = self.get_object(request, unquote(object_id))
        if scenario is None:
            raise Http404
        if not self.has_activate_permission(request):
            raise PermissionDenied
        here = HttpResponseRedirect(reverse("admin:scenarios_scenario_change", args=[scenario.pk]))
        action = request.POST.get("action")
        services = {
            "activate": (scenario_activate, gettext("The scenario is active.")),
            "pause": (scenario_pause, gettext("The scenario is paused.")),
            "resume": (scenario_resume, gettext("The scenario is active again.")),
        }
        if action not in services:
            self.message_user(request, gettext("Unknown action."), messages.ERROR)
            return here
        service, done = services[action]
        try:
            service(scenario=scenario)
        except ValidationError as error:
            if action != "pause":
                self.message_user(
                    request,
                    gettext("The scenario was not activated:"),
                    messages.ERROR,
                )
            for message in error.messages:
                self.message_user(request, message, messages.ERROR)
            return here
        self.message_user(request, done, messages.SUCCESS)
        return here


# Enrollments and generic channels ---------------------------------------------------------------


class EnrollmentStepInline(admin.TabularInline):
    model = EnrollmentStep
    fields = ("step", "kind", "block", "result", "detail", "executed_at")
    readonly_fields = fields
    ordering = ("step",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "contact",
        "scenario",
        "block",
        "state",
        "branch",
        "outcome",
        "entered_at",
        "wake_at",
        "finished_at",
    )
    list_filter = ("scenario", "state", "branch", "outcome")
    list_select_related = ("contact", "scenario", "block")
    raw_id_fields = ("contact",)
    inlines = [EnrollmentStepInline]
    ordering = ("-id",)
    sortable_by = ()
    paginator = QuickCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    fields = (
        "scenario",
        "contact",
        "block",
        "state",
        "branch",
        "outcome",
        "entered_at",
        "waiting_since",
        "wake_at",
        "finished_at",
        "steps",
    )
    readonly_fields = fields


@admin.register(GenericChannelEntry)
class GenericChannelEntryAdmin(admin.ModelAdmin):
    list_display = ("channel", "contact", "scenario", "added_at", "exported_at")
    list_filter = ("channel", "scenario", ("exported_at", admin.EmptyFieldListFilter))
    list_select_related = ("contact", "scenario")
    raw_id_fields = ("contact", "enrollment")
    search_fields = ("contact__email",)
    ordering = ("-added_at", "-id")
    paginator = QuickCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["export_csv"]
    fields = ("channel", "contact", "scenario", "enrollment", "added_at", "exported_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description=_("Export the selected entries as CSV"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        """The audience for the team running the channel; the entries are marked exported."""
        now = timezone.now()
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="generic-channel-{now:%Y%m%d-%H%M}.csv"'
        )
        writer = csv.writer(response)
        writer.writerow(
            ["channel", "email", "phone", "first_name", "last_name", "scenario", "added_at"]
        )
        rows = queryset.order_by("pk").values_list(
            "pk",
            "channel",
            "contact__email",
            "contact__phone",
            "contact__first_name",
            "contact__last_name",
            "scenario__name",
            "added_at",
        )
        ids = []
        for pk, *row in rows.iterator(chunk_size=2000):
            ids.append(pk)
            writer.writerow(
                [*(escape_formula(value or "") for value in row[:-1]), row[-1].isoformat()]
            )
        GenericChannelEntry.objects.filter(pk__in=ids, exported_at__isnull=True).update(
            exported_at=now
        )
        return response
