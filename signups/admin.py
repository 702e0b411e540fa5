"""Sign-up forms (with their public page, embeddable snippet and consent text versions), and
the read-only pending sign-ups and consent records."""

from datetime import datetime, timedelta

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from contacts.admin.pagination import EstimatedCountPaginator
from contacts.admin.readonly import ReadOnlyAdminMixin
from signups.forms import SignupFormAdminForm
from signups.models import ConsentRecord, ConsentText, PendingSignup, SignupForm
from signups.services import signup_form_save
from signups.snippet import signup_form_snippet, signup_page_url


def _count_per_form(model) -> Coalesce:
    rows = (
        model.objects.filter(form=OuterRef("pk"))
        .order_by()
        .values("form")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def _email_prefix_search(queryset: QuerySet, search_term: str, field: str):
    term = search_term.strip().lower()
    if not term:
        return queryset, False
    # E-mails are stored lower-cased: a prefix is served by a plain index.
    return queryset.filter(**{f"{field}__startswith": term}), False


class ConsentTextInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ConsentText
    fields = ("version", "text", "created_at")
    readonly_fields = fields
    extra = 0
    verbose_name_plural = _("consent text versions")


@admin.register(SignupForm)
class SignupFormAdmin(admin.ModelAdmin):
    form = SignupFormAdminForm
    list_display = (
        "name",
        "contact_list",
        "is_active",
        "pending",
        "confirmed",
        "public_page",
    )
    list_filter = ("is_active",)
    list_select_related = ("contact_list",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("contact_list", "lead_source", "sender_profile")
    readonly_fields = ("consent_version", "public_page", "snippet", "created_at", "updated_at")
    inlines = [ConsentTextInline]
    fieldsets = (
        (None, {"fields": ("name", "slug", "is_active", "contact_list", "lead_source")}),
        (
            _("Form"),
            {
                "fields": (
                    "title",
                    "introduction",
                    "asked_fields",
                    "required_fields",
                    "consent_text",
                    "consent_version",
                )
            },
        ),
        (
            _("Double opt-in"),
            {
                "fields": (
                    "thank_you_text",
                    "sender_profile",
                    "confirmation_email_subject",
                    "confirmation_email_text",
                    "confirmed_text",
                    "expiry_days",
                )
            },
        ),
        (_("Publishing"), {"fields": ("public_page", "snippet", "created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_count=_count_per_form(PendingSignup),
                confirmed_count=_count_per_form(ConsentRecord),
            )
        )

    @admin.display(description=_("pending"), ordering="pending_count")
    def pending(self, signup_form: SignupForm):
        url = reverse("admin:signups_pendingsignup_changelist")
        return format_html(
            '<a href="{}?form__id__exact={}">{}</a>',
            url,
            signup_form.pk,
            getattr(signup_form, "pending_count", 0),
        )

    @admin.display(description=_("confirmed"), ordering="confirmed_count")
    def confirmed(self, signup_form: SignupForm):
        url = reverse("admin:signups_consentrecord_changelist")
        return format_html(
            '<a href="{}?form__id__exact={}">{}</a>',
            url,
            signup_form.pk,
            getattr(signup_form, "confirmed_count", 0),
        )

    @admin.display(description=_("public page"))
    def public_page(self, signup_form: SignupForm):
        if not signup_form.pk:
            return "—"
        url = signup_page_url(signup_form)
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    @admin.display(description=_("HTML snippet to embed"))
    def snippet(self, signup_form: SignupForm):
        if not signup_form.pk or not signup_form.consent_version:
            return _("Available once the form is saved.")
        return format_html(
            '<textarea readonly rows="20" style="width: 100%; font-family: monospace;" '
            'aria-label="{}">{}</textarea><div class="help">{}</div>',
            _("HTML snippet to embed"),
            signup_form_snippet(signup_form),
            _(
                "Paste it into any page: it posts to the public page above, which answers "
                "with the thank-you page. Copy it again after changing the consent text or "
                "the fields asked."
            ),
        )

    def save_model(self, request: HttpRequest, obj: SignupForm, form, change: bool) -> None:
        signup_form_save(form=obj)


@admin.register(PendingSignup)
class PendingSignupAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("email", "form", "created_at", "expires_at", "ip")
    list_filter = ("form",)
    list_select_related = ("form",)
    search_fields = ("email",)
    search_help_text = _("An e-mail address or its beginning.")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = ("form", "email", "data", "consent_text", "ip", "utm", "language", "created_at")
    readonly_fields = fields

    @admin.display(description=_("expires at"))
    def expires_at(self, pending: PendingSignup) -> datetime:
        return pending.created_at + timedelta(days=pending.form.expiry_days)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        return _email_prefix_search(queryset, search_term, "email")


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "contact_email",
        "form",
        "consent_version",
        "signed_up_at",
        "confirmed_at",
        "ip",
        "utm_source",
    )
    list_filter = ("form",)
    list_select_related = ("contact", "form", "consent_text")
    search_fields = ("contact__email",)
    search_help_text = _("An e-mail address or its beginning.")
    # Newest first by id (records are written at confirmation, so the id follows the time).
    ordering = ("-id",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER
    fields = (
        "contact",
        "email",
        "form",
        "consent_version",
        "consent_wording",
        "signed_up_at",
        "ip",
        "confirmed_at",
        "confirmation_ip",
        "utm",
    )
    readonly_fields = fields

    @admin.display(description=_("contact"))
    def contact_email(self, record: ConsentRecord) -> str:
        return record.contact.email

    @admin.display(description=_("consent text version"))
    def consent_version(self, record: ConsentRecord) -> int:
        return record.consent_text.version

    @admin.display(description=_("consent text"))
    def consent_wording(self, record: ConsentRecord) -> str:
        return record.consent_text.text

    @admin.display(description="utm_source")
    def utm_source(self, record: ConsentRecord) -> str:
        return (record.utm or {}).get("utm_source", "")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        return _email_prefix_search(queryset, search_term, "contact__email")
