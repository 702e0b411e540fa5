"""Admin forms for contacts: the contact form and the import options."""

from django import forms
from django.utils.translation import gettext_lazy as _
from import_export.forms import ConfirmImportForm, ImportForm

from contacts.models import Contact, ContactList, LeadSource
from contacts.normalize import InvalidValue, normalize_email, normalize_phone
from contacts.privacy import address_is_erased


class ContactAdminForm(forms.ModelForm):
    """Stores e-mail and phone the way imports do: lower-cased e-mail, E.164 phone."""

    class Meta:
        model = Contact
        fields = (
            "email",
            "first_name",
            "last_name",
            "phone",
            "language",
            "time_zone",
            "lead_source",
            "created_at",
            "email_status",
            "sms_status",
            "loyalty_points",
            "loyalty_points_expire_on",
            "engagement_level",
            "score",
            "tags",
            "attributes",
        )

    def clean_email(self) -> str:
        try:
            email = normalize_email(self.cleaned_data.get("email", ""))
        except InvalidValue as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None
        if email != self.instance.email and address_is_erased(email):
            raise forms.ValidationError(
                _(
                    "This address was erased under GDPR and cannot be added again (see "
                    "Contacts → Erased addresses)."
                ),
                code="erased",
            )
        return email

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data.get("phone", ""))
        except InvalidValue as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


def _import_option_fields(hidden: bool) -> dict[str, forms.Field]:
    widget = {"widget": forms.HiddenInput()} if hidden else {}
    return {
        "update_existing": forms.BooleanField(
            label=_("Update existing contacts"),
            required=False,
            help_text=_(
                "When unchecked, contacts already in the base are left as they are. An import "
                "never resubscribes an unsubscribed, bounced or complained address."
            ),
            **widget,
        ),
        "contact_list": forms.ModelChoiceField(
            label=_("Add to list"),
            queryset=ContactList.objects.all(),
            required=False,
            help_text=_("Every contact of the file joins this list, new or not."),
            **widget,
        ),
        "lead_source": forms.ModelChoiceField(
            label=_("Default lead source"),
            queryset=LeadSource.objects.all(),
            required=False,
            help_text=_(
                "For new contacts whose row has no source; a value in a 'source' column wins "
                "(a lead source of that name is created if needed)."
            ),
            **widget,
        ),
    }


class ContactImportForm(ImportForm):
    """django-import-export's upload form, plus the contact import options."""

    def __init__(self, formats, resources, **kwargs) -> None:
        super().__init__(formats, resources, **kwargs)
        self.fields.update(_import_option_fields(hidden=False))


class ContactConfirmImportForm(ConfirmImportForm):
    """Carries the options chosen on the upload form to the confirm step."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_import_option_fields(hidden=True))


def import_options(form: forms.Form | None) -> dict:
    """The import options of a validated upload or confirm form (defaults otherwise)."""
    data = getattr(form, "cleaned_data", None) or {}
    return {
        "update_existing": bool(data.get("update_existing")),
        "contact_list": data.get("contact_list"),
        "lead_source": data.get("lead_source"),
    }
