"""The public sign-up form (built from a `SignupForm`'s settings) and the admin's form."""

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from contacts.normalize import InvalidValue, normalize_email, normalize_phone
from signups.captcha import CaptchaField
from signups.models import ConsentText, SignupField, SignupForm
from signups.services import UTM_KEYS, consent_text_shown

# The honeypot: a field people never see (hidden by the page's style) and bots fill in.
HONEYPOT = "website"
# Hidden fields carrying the page's query string through the POST.
UTM_MAX_LENGTH = 200


def _asked_field(name: str, required: bool) -> forms.Field:
    if name == SignupField.LANGUAGE:
        return forms.ChoiceField(
            label=SignupField(name).label,
            choices=[("", "—"), *settings.LANGUAGES] if not required else settings.LANGUAGES,
            required=required,
        )
    autocomplete = {"first_name": "given-name", "last_name": "family-name", "phone": "tel"}
    widget = forms.TextInput(attrs={"autocomplete": autocomplete[name]})
    if name == SignupField.PHONE:
        widget.input_type = "tel"
    return forms.CharField(
        label=SignupField(name).label, max_length=150, required=required, widget=widget
    )


class SignupEntryForm(forms.Form):
    """What a visitor fills in. The fields asked follow the form's settings; `consent_version`
    names the consent text shown (an embedded snippet may show an older one)."""

    email = forms.CharField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    consent_version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    lang = forms.CharField(required=False, widget=forms.HiddenInput)
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, signup_form: SignupForm, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.signup_form = signup_form
        for name in signup_form.asked_fields:
            if name in SignupField.values:
                required = name in signup_form.required_fields
                self.fields[name] = _asked_field(name, required)
        for key in UTM_KEYS:
            self.fields[key] = forms.CharField(required=False, widget=forms.HiddenInput)
        version = self.data.get("consent_version") if self.is_bound else None
        self.consent_text: ConsentText = consent_text_shown(
            form=signup_form, version=int(version) if str(version or "").isdigit() else None
        )
        self.fields["consent_version"].initial = self.consent_text.version
        self.fields["consent"] = forms.BooleanField(
            label=self.consent_text.text,
            error_messages={"required": _("Please tick the box to give your consent.")},
        )
        self.fields["altcha"] = CaptchaField(
            label=_("Anti-robot check"),
            challengeurl=reverse("signups:challenge", kwargs={"slug": signup_form.slug}),
        )

    @property
    def asked_field_names(self) -> list[str]:
        return [name for name in SignupField.values if name in self.fields]

    @property
    def asked_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.asked_field_names]

    def clean_email(self) -> str:
        try:
            return normalize_email(self.cleaned_data["email"])
        except InvalidValue as error:
            raise forms.ValidationError(str(error)) from None

    def clean_phone(self) -> str:
        value = self.cleaned_data.get("phone", "")
        if not value.strip():
            return ""
        try:
            return normalize_phone(value)
        except InvalidValue as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get(HONEYPOT):
            raise forms.ValidationError(
                _(
                    "This sign-up looks automated and was not accepted. If you are a person, "
                    "please reload the page and try again."
                ),
                code="honeypot",
            )
        return cleaned

    def answers(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in self.asked_field_names}

    def utm(self) -> dict[str, str]:
        values = {key: (self.cleaned_data.get(key) or "").strip() for key in UTM_KEYS}
        return {key: value[:UTM_MAX_LENGTH] for key, value in values.items() if value}


class SignupFormAdminForm(forms.ModelForm):
    asked_fields = forms.MultipleChoiceField(
        label=_("fields asked"),
        choices=SignupField.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The e-mail address is always asked."),
    )
    required_fields = forms.MultipleChoiceField(
        label=_("required fields"),
        choices=SignupField.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Among the fields asked."),
    )

    class Meta:
        model = SignupForm
        fields = [
            "name",
            "slug",
            "is_active",
            "contact_list",
            "lead_source",
            "title",
            "introduction",
            "asked_fields",
            "required_fields",
            "consent_text",
            "thank_you_text",
            "sender_profile",
            "confirmation_email_subject",
            "confirmation_email_text",
            "confirmed_text",
            "expiry_days",
        ]

    def clean(self) -> dict:
        cleaned = super().clean()
        asked = set(cleaned.get("asked_fields") or [])
        extra = [name for name in cleaned.get("required_fields") or [] if name not in asked]
        if extra:
            self.add_error(
                "required_fields",
                _("Only fields that are asked can be required: %(fields)s.")
                % {"fields": ", ".join(str(SignupField(name).label) for name in extra)},
            )
        return cleaned
