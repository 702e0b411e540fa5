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
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from contacts.admin.audit import audit_changes
from contacts.admin.pagination import QuickCountPaginator
from contacts.admin.readonly import ReadOnlyAdminMixin
from contacts.exporting import escape_formula
from scenarios.blocks import REGISTRY
from scenarios.diagram import scenario_diagram
from scenarios.forms import BlockAddForm, BlockForm, ScenarioCreateForm, branch_label
from scenarios.models import (
    Block,
    Enrollment,
    EnrollmentStep,
    GenericChannelEntry,
    Scenario,
    ScenarioTemplate,
)
from scenarios.outcomes import CLEANED, CONTROL, KNOWN_OUTCOMES, LET_GO, REACTIVATED
from scenarios.reports import scenario_block_counts, scenario_results
from scenarios.services import (
    block_add,
    block_remove,
    block_update,
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
        disabled = list(queryset.filter(is_enabled=False))
        count = queryset.filter(pk__in=[t.pk for t in disabled]).update(is_enabled=True)
        for template in disabled:
            audit_changes(template, before={"is_enabled": False})
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
    """The blocks as a read-only list; each is edited on its own page (settings form by kind,
    campaign, branches), reached from here or from the flow diagram."""

    model = Block
    extra = 0
    fields = ("position", "key", "kind_label", "name", "settings", "branches", "campaign", "edit")
    readonly_fields = fields
    ordering = ("position", "pk")

    @admin.display(description=_("kind"))
    def kind_label(self, block: Block) -> str:
        handler = REGISTRY.get(block.kind)
        return str(handler.label) if handler else block.kind

    @admin.display(description=_("settings"))
    def settings(self, block: Block) -> str:
        handler = REGISTRY.get(block.kind)
        return handler.config_summary(block.config or {}) if handler else ""

    @admin.display(description=_("next blocks"))
    def branches(self, block: Block) -> str:
        return ", ".join(
            f"{branch_label(branch)} → {target or '—'}"
            for branch, target in (block.next or {}).items()
        )

    @admin.display(description=_("edit"))
    def edit(self, block: Block) -> str:
        if block.pk is None:
            return ""
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:scenarios_scenario_block", args=[block.scenario_id, block.pk]),
            gettext("Edit"),
        )

    def has_add_permission(self, request: HttpRequest, obj: Scenario | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Scenario | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Scenario | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Scenario | None = None) -> bool:
        # The blocks are part of the scenario: whoever sees the scenario sees them.
        opts = Scenario._meta
        return request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or (
            request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")
        )


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
        "existing_enrolment",
        "created_by",
        "created_at",
    )
    readonly_fields = (
        "template",
        "status",
        "activated_at",
        "existing_enrolment",
        "created_by",
        "created_at",
    )

    @admin.display(description=_("contact base"), ordering="contact_list__name")
    def contact_base(self, scenario: Scenario) -> str:
        return scenario.contact_list.name if scenario.contact_list else gettext("All contacts")

    @admin.display(description=_("segment members on activation"))
    def existing_enrolment(self, scenario: Scenario) -> str:
        if scenario.existing_enrolled_at is not None:
            return ngettext(
                "%(count)s contact already in the segment was enrolled (%(at)s).",
                "%(count)s contacts already in the segment were enrolled (%(at)s).",
                scenario.existing_enrolled or 0,
            ) % {
                "count": number_format(scenario.existing_enrolled or 0, force_grouping=True),
                "at": date_format(
                    timezone.localtime(scenario.existing_enrolled_at), "SHORT_DATETIME_FORMAT"
                ),
            }
        if scenario.only_new_entries:
            return gettext("Not asked for: only new entries.")
        if scenario.activated_at is None:
            return gettext("On activation.")
        return gettext("A worker is enrolling them; reload the page in a moment.")

    def has_delete_permission(self, request: HttpRequest, obj: Scenario | None = None) -> bool:
        # Only a draft goes: one that ran keeps its enrollments and results (pause it instead),
        # and deleting them would load every log row into the confirmation page.
        if obj is not None and obj.status != Scenario.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

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
                "diagram": scenario_diagram(
                    scenario,
                    counts,
                    block_url=lambda block: reverse(
                        "admin:scenarios_scenario_block", args=[scenario.pk, block.pk]
                    ),
                ),
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

    def get_urls(self):
        return [
            path(
                "<path:object_id>/status/",
                self.admin_site.admin_view(self.status_view),
                name="scenarios_scenario_status",
            ),
            path(
                "<path:object_id>/blocks/add/",
                self.admin_site.admin_view(self.block_add_view),
                name="scenarios_scenario_block_add",
            ),
            path(
                "<path:object_id>/blocks/<int:block_id>/",
                self.admin_site.admin_view(self.block_view),
                name="scenarios_scenario_block",
            ),
            path(
                "<path:object_id>/blocks/<int:block_id>/delete/",
                self.admin_site.admin_view(self.block_delete_view),
                name="scenarios_scenario_block_delete",
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
        before = {"status": scenario.status, "activated_at": scenario.activated_at}
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
        # The service moved the status with a conditional UPDATE, which auditlog does not see.
        audit_changes(scenario, before=before)
        self.message_user(request, done, messages.SUCCESS)
        return here

    # Blocks --------------------------------------------------------------------------------

    def _scenario_or_404(self, request: HttpRequest, object_id: str) -> Scenario:
        scenario = self.get_object(request, unquote(object_id))
        if scenario is None:
            raise Http404
        if not self.has_view_or_change_permission(request, scenario):
            raise PermissionDenied
        return scenario

    def _block_page(self, request: HttpRequest, scenario: Scenario, template: str, **context):
        return TemplateResponse(
            request,
            f"admin/scenarios/scenario/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": scenario,
                "scenario_url": reverse("admin:scenarios_scenario_change", args=[scenario.pk]),
                **context,
            },
        )

    def block_add_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Choose a kind and a name; the new block opens for its settings."""
        scenario = self._scenario_or_404(request, object_id)
        if not self.has_change_permission(request, scenario):
            raise PermissionDenied
        form = BlockAddForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                block = block_add(
                    scenario=scenario,
                    kind=form.cleaned_data["kind"],
                    name=form.cleaned_data["name"],
                    created_by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    gettext("The block “%(name)s” was added: fill in its settings and connect it.")
                    % {"name": block.name},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:scenarios_scenario_block", args=[scenario.pk, block.pk])
                )
        return self._block_page(
            request,
            scenario,
            "block_add.html",
            title=gettext("Add a block to “%(name)s”") % {"name": scenario.name},
            form=form,
            structure_editable=scenario_structure_editable(scenario),
        )

    def block_view(self, request: HttpRequest, object_id: str, block_id: int) -> HttpResponse:
        """One block: its kind's settings form, its campaign (send blocks) and where each of its
        branches leads. While the scenario is active only the settings that keep the paths as
        they are can change (see `block_update`)."""
        scenario = self._scenario_or_404(request, object_id)
        block = Block.objects.filter(scenario=scenario, pk=block_id).first()
        if block is None:
            raise Http404
        handler = REGISTRY.get(block.kind)
        if handler is None:
            raise Http404
        can_change = self.has_change_permission(request, scenario)
        editable = scenario_structure_editable(scenario)
        data = request.POST if request.method == "POST" else None
        if data is not None and not can_change:
            raise PermissionDenied
        branches = handler.branches_for(block.config or {})
        form = BlockForm(data, block=block, branches=branches, structure_editable=editable)
        settings_form = handler.settings_form_class()(data, block=block, prefix="settings")
        if data is not None and form.is_valid() and settings_form.is_valid():
            try:
                block = block_update(
                    block=block,
                    name=form.cleaned_data["name"],
                    config=settings_form.config(),
                    next_blocks=form.next_blocks() if editable else dict(block.next or {}),
                    campaign=form.cleaned_data.get("campaign") if editable else block.campaign,
                    position=form.cleaned_data["position"],
                )
            except ValidationError as error:
                settings_form.add_error(None, error)
            else:
                unconnected = [branch for branch, target in block.next.items() if not target]
                if unconnected:
                    self.message_user(
                        request,
                        gettext("Saved. Connect the branches that lead nowhere yet: %(names)s.")
                        % {"names": ", ".join(branch_label(b) for b in unconnected)},
                        messages.WARNING,
                    )
                    return HttpResponseRedirect(request.path)
                self.message_user(
                    request,
                    gettext("The block “%(name)s” was saved.") % {"name": block.name or block.key},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:scenarios_scenario_change", args=[scenario.pk])
                )
        if not can_change:
            for bound in (form, settings_form):
                for field in bound.fields.values():
                    field.disabled = True
        return self._block_page(
            request,
            scenario,
            "block_form.html",
            title=gettext("Block “%(name)s” (%(kind)s)")
            % {"name": block.name or block.key, "kind": handler.label},
            scenario_block=block,
            handler=handler,
            end_outcomes=(REACTIVATED, LET_GO, CLEANED),
            form=form,
            settings_form=settings_form,
            media=self.media + form.media + settings_form.media,
            can_change=can_change,
            structure_editable=editable,
            campaign_url=reverse("admin:campaigns_campaign_change", args=[block.campaign_id])
            if block.campaign_id
            else "",
        )

    def block_delete_view(self, request: HttpRequest, object_id: str, block_id: int):
        """Remove a block of a draft or paused scenario (confirmation first); the enrollments
        standing at it exit, logged."""
        scenario = self._scenario_or_404(request, object_id)
        block = Block.objects.filter(scenario=scenario, pk=block_id).first()
        if block is None:
            raise Http404
        if not self.has_change_permission(request, scenario):
            raise PermissionDenied
        here = reverse("admin:scenarios_scenario_change", args=[scenario.pk])
        if request.method == "POST":
            try:
                exited = block_remove(block=block)
            except ValidationError as error:
                for message in error.messages:
                    self.message_user(request, message, messages.ERROR)
                return HttpResponseRedirect(here)
            self.message_user(
                request,
                gettext("The block “%(name)s” was removed.") % {"name": block.name or block.key},
                messages.SUCCESS,
            )
            if exited:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d enrollment waiting at “%(block)s” exited.",
                        "%(count)d enrollments waiting at “%(block)s” exited.",
                        exited,
                    )
                    % {"count": exited, "block": block.name or block.key},
                    messages.WARNING,
                )
            return HttpResponseRedirect(here)
        return self._block_page(
            request,
            scenario,
            "block_delete.html",
            title=gettext("Remove the block “%(name)s”?") % {"name": block.name or block.key},
            scenario_block=block,
            structure_editable=scenario_structure_editable(scenario),
            standing=Enrollment.objects.filter(
                block=block, state__in=Enrollment.OPEN_STATES
            ).count(),
            pointing=[
                other
                for other in scenario.blocks.exclude(pk=block.pk)
                if block.key in (other.next or {}).values()
            ],
        )


# Enrollments and generic channels ---------------------------------------------------------------


class EnrollmentBranchFilter(admin.SimpleListFilter):
    title = _("branch")
    parameter_name = "branch"

    def lookups(self, request, model_admin):
        return [("a", "a"), ("b", "b"), (CONTROL, gettext("Control group"))]

    def queryset(self, request, queryset):
        return queryset.filter(branch=self.value()) if self.value() else queryset


class EnrollmentOutcomeFilter(admin.SimpleListFilter):
    title = _("outcome")
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [(outcome, outcome) for outcome in KNOWN_OUTCOMES]

    def queryset(self, request, queryset):
        return queryset.filter(outcome=self.value()) if self.value() else queryset


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

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("block")


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
    # Fixed choices: a filter over the values in the table would read it all on every page.
    list_filter = ("scenario", "state", EnrollmentBranchFilter, EnrollmentOutcomeFilter)
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

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.export_genericchannelentry")

    @admin.action(description=_("Export the selected entries as CSV"), permissions=["export"])
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
        for _pk, *row in rows.iterator(chunk_size=2000):
            writer.writerow(
                [*(escape_formula(value or "") for value in row[:-1]), row[-1].isoformat()]
            )
        # The same selection, in one UPDATE (no list of ids, however many were selected).
        queryset.filter(exported_at__isnull=True, added_at__lte=now).update(exported_at=now)
        return response
