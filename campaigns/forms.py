from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import SenderProfile

SECRET_FIELDS = ("smtp_password", "esp_api_key")


class SenderProfileForm(forms.ModelForm):
    """Secrets are write-only: the page never shows them back, and leaving one empty keeps it."""

    clear_secrets = forms.BooleanField(
        label=_("Forget the stored password and API key"), required=False
    )

    class Meta:
        model = SenderProfile
        fields = (
            "name",
            "purpose",
            "from_name",
            "from_email",
            "reply_to",
            "connection",
            "smtp_host",
            "smtp_port",
            "smtp_username",
            "smtp_password",
            "smtp_use_tls",
            "smtp_use_ssl",
            "esp_name",
            "esp_api_key",
            "esp_settings",
            "rate_per_minute",
        )
        widgets = {
            name: forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
            for name in SECRET_FIELDS
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            field = self.fields[name]
            if self.instance.pk and getattr(self.instance, name):
                field.help_text = _("Set. Leave empty to keep it, or type a new one.")
            else:
                field.help_text = _("Not set.")

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if cleaned.get("clear_secrets"):
                cleaned[name] = ""
            elif not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        connection = cleaned.get("connection")
        if connection == SenderProfile.Connection.SMTP and not cleaned.get("smtp_host"):
            self.add_error("smtp_host", _("An SMTP connection needs a host."))
        if connection == SenderProfile.Connection.ESP and not cleaned.get("esp_name"):
            self.add_error("esp_name", _("Name the provider's django-anymail backend."))
        if cleaned.get("smtp_use_tls") and cleaned.get("smtp_use_ssl"):
            self.add_error("smtp_use_ssl", _("Choose STARTTLS or SSL/TLS, not both."))
        return cleaned

    def _post_clean(self) -> None:
        # Put the kept secrets on the instance (construct_instance only copies posted data).
        super()._post_clean()
        for name in SECRET_FIELDS:
            setattr(self.instance, name, self.cleaned_data.get(name, ""))
