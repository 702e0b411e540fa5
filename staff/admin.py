"""The audit trail in the admin: a read-only list of who changed what, and each audited
object's trail on its "History" page."""

from auditlog.admin import LogEntryAdmin as AuditlogLogEntryAdmin
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from auditlog.render import get_field_verbose_name
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from staff.audit import audited_object_parse, entry_change_rows, object_audit_q

OBJECT_HISTORY_TEMPLATE = "staff/object_history.html"


class AuditedModelFilter(admin.SimpleListFilter):
    """The kinds of objects audited (from the registry: no scan of the log for choices)."""

    title = _("kind of object")
    parameter_name = "model"

    def lookups(self, request, model_admin):
        types = ContentType.objects.get_for_models(*auditlog.get_models()).values()
        return sorted(
            ((str(ct.pk), capfirst(ct.model_class()._meta.verbose_name)) for ct in types),
            key=lambda choice: str(choice[1]),
        )

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(content_type_id=int(value))


class AuditedObjectFilter(admin.SimpleListFilter):
    """One object's trail (a scenario's includes its blocks): its "History" page links here.
    Works for deleted objects too: it matches the entries, not the object."""

    title = _("object")
    parameter_name = "object"

    def lookups(self, request, model_admin):
        # Offered only once chosen: an object is picked from its own page, not from a list.
        parsed = audited_object_parse(self.value())
        if parsed is None:
            return []
        content_type, object_pk = parsed
        latest = (
            LogEntry.objects.filter(content_type=content_type, object_pk=object_pk)
            .order_by("-timestamp", "-pk")
            .values_list("object_repr", flat=True)
            .first()
        )
        return [(self.value(), latest or f"{content_type.name} #{object_pk}")]

    def has_output(self) -> bool:
        # A filter without output is not applied: a bad value must still filter (to nothing).
        return bool(self.value())

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        parsed = audited_object_parse(self.value())
        if parsed is None:
            return queryset.none()
        return queryset.filter(object_audit_q(*parsed))


admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditEntryAdmin(AuditlogLogEntryAdmin):
    """Read-only for everybody, superusers included: the trail is evidence."""

    list_display = ("created", "actor_display", "action", "resource_url", "changed_fields")
    list_display_links = ("created",)
    list_filter = ("action", AuditedModelFilter, AuditedObjectFilter)
    list_select_related = ("content_type", "actor")
    search_fields = ("object_repr", "actor__username", "actor_email")
    search_help_text = _("The name of the object, or the user name or e-mail of who acted.")
    # The log only grows: the list never counts all of it.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-timestamp", "-id")
    fieldsets = (
        (None, {"fields": ("created", "actor_display", "remote_addr", "resource_url")}),
        (_("Changes"), {"fields": ("action", "msg")}),
    )
    readonly_fields = ("created", "actor_display", "remote_addr", "resource_url", "action", "msg")

    @admin.display(description=_("who"), ordering="actor")
    def actor_display(self, entry: LogEntry) -> str:
        if entry.actor is not None:
            return entry.actor.get_username()
        if entry.actor_email:
            # The user was deleted since: the address recorded with the entry remains.
            return entry.actor_email
        return gettext("system (a worker or a command)")

    @admin.display(description=_("changed fields"))
    def changed_fields(self, entry: LogEntry) -> str:
        if entry.action == LogEntry.Action.DELETE:
            return "-"
        # Names only: the displayed values would cost a query per foreign key and row.
        names = [str(get_field_verbose_name(entry, name)) for name in entry.changes_dict]
        return ", ".join(names) or "-"

    @admin.display(description=_("changes"))
    def msg(self, entry: LogEntry) -> str:
        if entry.action == LogEntry.Action.DELETE:
            return "-"
        return render_to_string("staff/entry_changes.html", {"rows": entry_change_rows(entry)})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def object_history_with_audit_trail() -> None:
    """Make the "History" page of each audited model show its audit trail too, unless its
    admin has a history template of its own. Called from `StaffConfig.ready`, once the admin
    modules are loaded and the audited models registered."""
    for model, model_admin in admin.site._registry.items():
        if auditlog.contains(model) and model_admin.object_history_template is None:
            model_admin.object_history_template = OBJECT_HISTORY_TEMPLATE
