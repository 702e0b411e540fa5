from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, SenderProfile
from campaigns.rendering import CONTENT_FIELDS, template_check
from contacts.models import Contact
from contacts.normalize import InvalidValue, normalize_phone

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


class CampaignForm(forms.ModelForm):
    """A draft campaign: what each channel needs, and content templates that compile and render."""

    class Meta:
        model = Campaign
        fields = (
            "name",
            "channel",
            "sender_profile",
            "reactivation_profile",
            "subject",
            "preheader",
            "html_body",
            "text_body",
            "sms_text",
            "target_lists",
            "target_segments",
            "exclude_lists",
            "exclude_segments",
            "inactive_share_percent",
            "scheduled_at",
        )

    def clean(self) -> dict:
        cleaned = super().clean()
        for name, html in CONTENT_FIELDS.items():
            if cleaned.get(name):
                try:
                    template_check(cleaned[name], html=html)
                except ValidationError as error:
                    self.add_error(name, error)
        channel = cleaned.get("channel")
        if channel == Campaign.Channel.EMAIL:
            if not cleaned.get("sender_profile"):
                self.add_error("sender_profile", _("An e-mail campaign needs a sender profile."))
            if not cleaned.get("subject") and "subject" not in self.errors:
                self.add_error("subject", _("An e-mail campaign needs a subject."))
            if not (cleaned.get("html_body") or cleaned.get("text_body")) and not (
                {"html_body", "text_body"} & set(self.errors)
            ):
                self.add_error(
                    "html_body", _("An e-mail campaign needs an HTML body, a text body or both.")
                )
        elif (
            channel == Campaign.Channel.SMS
            and not cleaned.get("sms_text")
            and "sms_text" not in self.errors
        ):
            self.add_error("sms_text", _("An SMS campaign needs its text."))
        reactivation = cleaned.get("reactivation_profile")
        if reactivation and reactivation.purpose != SenderProfile.Purpose.REACTIVATION:
            self.add_error(
                "reactivation_profile",
                _("Choose a sender profile whose purpose is reactivation."),
            )
        return cleaned


class CampaignTestSendForm(forms.Form):
    """Where a test goes, and whose data fills it."""

    to = forms.CharField(label=_("Send a test to"), max_length=254)
    contact_email = forms.EmailField(
        label=_("Rendered for the contact"),
        required=False,
        help_text=_("A contact's e-mail address; empty: a made-up sample contact."),
    )

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        if campaign.channel == Campaign.Channel.SMS:
            self.fields["to"].label = _("Send a test SMS to the number")

    def clean_to(self) -> str:
        value = self.cleaned_data["to"].strip()
        if self.campaign.channel == Campaign.Channel.SMS:
            try:
                phone = normalize_phone(value)
            except InvalidValue:
                phone = ""
            if not phone:
                raise ValidationError(_("Enter a valid phone number."), code="phone")
            return phone
        forms.EmailField().clean(value)
        return value.lower()

    def clean(self):
        cleaned = super().clean()
        email = (cleaned.get("contact_email") or "").strip().lower()
        cleaned["contact"] = None
        if email:
            cleaned["contact"] = (
                Contact.objects.select_related("lead_source").filter(email=email).first()
            )
            if cleaned["contact"] is None:
                self.add_error("contact_email", _("No contact has this e-mail address."))
        return cleaned


class CampaignScheduleForm(forms.Form):
    at = forms.DateTimeField(
        label=_("Send at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def clean_at(self):
        at = self.cleaned_data["at"]
        if at <= timezone.now():
            raise ValidationError(_("Choose a time in the future, or send now."), code="past")
        return at
