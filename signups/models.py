"""Sign-up forms: the form a list publishes, what people submitted and what they consented to.

A submission is a `PendingSignup` until its confirmation link is used (double opt-in); only then
does it touch the contact base, and it leaves a `ConsentRecord` pointing at the exact version of
the consent text the person saw (`ConsentText`). The two small guard tables back the bot
protection with the database, so that every web process shares them.
"""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact, ContactList, LeadSource


class SignupField(models.TextChoices):
    """Contact fields a form may ask for, besides the e-mail address (always asked)."""

    FIRST_NAME = "first_name", _("First name")
    LAST_NAME = "last_name", _("Last name")
    PHONE = "phone", _("Phone")
    LANGUAGE = "language", _("Language")


# Path segments of the public URLs that a form's slug must not take (see signups.urls).
RESERVED_SLUGS = ("confirm",)


def _slug_not_reserved(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(_("This address is reserved; choose another one."))


class SignupForm(models.Model):
    """A public sign-up form for one list. Texts left empty fall back to standard wording in
    the visitor's language."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    slug = models.SlugField(
        _("address"),
        max_length=80,
        unique=True,
        validators=[_slug_not_reserved],
        help_text=_("The end of the public page’s address: /signup/this-address/."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("An inactive form accepts no sign-up.")
    )
    contact_list = models.ForeignKey(
        ContactList,
        verbose_name=_("list"),
        on_delete=models.PROTECT,
        related_name="signup_forms",
        help_text=_("Confirmed sign-ups are added to this list."),
    )
    lead_source = models.ForeignKey(
        LeadSource,
        verbose_name=_("lead source"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="signup_forms",
        help_text=_(
            "Given to new contacts, unless the page address carries a utm_source, "
            "which then names the lead source."
        ),
    )
    asked_fields = models.JSONField(
        _("fields asked"),
        default=list,
        blank=True,
        help_text=_("The e-mail address is always asked."),
    )
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    title = models.CharField(_("page title"), max_length=200, blank=True)
    introduction = models.TextField(_("introduction"), blank=True)
    consent_text = models.TextField(
        _("consent text"),
        help_text=_(
            "What people agree to by ticking the box. Each change is kept as a new version, "
            "and every consent record points at the version that was shown."
        ),
    )
    consent_version = models.PositiveIntegerField(_("consent text version"), default=0)
    thank_you_text = models.TextField(
        _("thank-you text"),
        blank=True,
        help_text=_("Shown after the form is sent. Empty: asks to check the mailbox."),
    )
    confirmation_email_subject = models.CharField(
        _("confirmation e-mail subject"), max_length=200, blank=True
    )
    confirmation_email_text = models.TextField(
        _("confirmation e-mail text"),
        blank=True,
        help_text=_("Above the confirmation link. Empty: standard wording."),
    )
    confirmed_text = models.TextField(
        _("confirmation text"),
        blank=True,
        help_text=_("Shown once the subscription is confirmed. Empty: standard wording."),
    )
    sender_profile = models.ForeignKey(
        "campaigns.SenderProfile",
        verbose_name=_("sender of the confirmation e-mail"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the site's system address (DEFAULT_FROM_EMAIL)."),
    )
    expiry_days = models.PositiveIntegerField(
        _("confirmation delay (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Unconfirmed sign-ups and their links expire after this many days."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("sign-up form")
        verbose_name_plural = _("sign-up forms")

    def __str__(self) -> str:
        return self.name


class ConsentText(models.Model):
    """One version of a form's consent text, never changed once written."""

    form = models.ForeignKey(
        SignupForm,
        verbose_name=_("sign-up form"),
        on_delete=models.CASCADE,
        related_name="consent_texts",
    )
    version = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["form", "-version"]
        verbose_name = _("consent text")
        verbose_name_plural = _("consent texts")
        constraints = [
            models.UniqueConstraint(fields=["form", "version"], name="consent_text_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.form} v{self.version}"


class PendingSignup(models.Model):
    """A submitted sign-up waiting for its confirmation link; removed once confirmed or expired.

    It never touches the contact: until the link is used nobody has shown that the address
    belongs to the person who typed it."""

    form = models.ForeignKey(
        SignupForm,
        verbose_name=_("sign-up form"),
        on_delete=models.CASCADE,
        related_name="pending_signups",
    )
    email = models.CharField(_("e-mail"), max_length=254)
    # What the confirmation link carries (signed): unguessable, unlike the id.
    token = models.UUIDField(_("token"), default=uuid.uuid4, unique=True, editable=False)
    # The other fields asked, as typed (normalised): first_name, last_name, phone, language.
    data = models.JSONField(_("answers"), default=dict, blank=True)
    consent_text = models.ForeignKey(
        ConsentText, verbose_name=_("consent text"), on_delete=models.PROTECT, related_name="+"
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    utm = models.JSONField(_("UTM parameters"), default=dict, blank=True)
    # The page's language: the confirmation e-mail and pages use it.
    language = models.CharField(_("page language"), max_length=10, blank=True)
    created_at = models.DateTimeField(_("signed up at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("pending sign-up")
        verbose_name_plural = _("pending sign-ups")
        constraints = [
            # Signing up again for the same form refreshes the pending sign-up.
            models.UniqueConstraint(fields=["form", "email"], name="pending_signup_form_email"),
        ]
        indexes = [
            # The expiry task: one form's sign-ups older than its delay.
            models.Index(fields=["form", "created_at"], name="pending_signup_form_at_idx"),
            # The privacy export and erasure of one address.
            models.Index(fields=["email"], name="pending_signup_email_idx"),
        ]

    def __str__(self) -> str:
        return self.email


class ConsentRecord(models.Model):
    """Proof of one confirmed sign-up: when, from where, on which form and text. Append-only;
    a privacy erasure only blanks the address and the IP addresses."""

    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="consent_records",
    )
    form = models.ForeignKey(
        SignupForm,
        verbose_name=_("sign-up form"),
        on_delete=models.PROTECT,
        related_name="consent_records",
    )
    consent_text = models.ForeignKey(
        ConsentText,
        verbose_name=_("consent text"),
        on_delete=models.PROTECT,
        related_name="consent_records",
    )
    # The pending sign-up's token: unique, so a link used twice records one consent.
    signup_token = models.UUIDField(_("sign-up token"), unique=True, editable=False)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    signed_up_at = models.DateTimeField(_("signed up at"))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"))
    confirmation_ip = models.GenericIPAddressField(
        _("confirmation IP address"), null=True, blank=True
    )
    utm = models.JSONField(_("UTM parameters"), default=dict, blank=True)

    class Meta:
        ordering = ["-confirmed_at", "-id"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")

    def __str__(self) -> str:
        return f"{self.email or self.contact_id} {self.confirmed_at:%Y-%m-%d %H:%M}"


class SignupRateWindow(models.Model):
    """Sign-up attempts from one IP address in one fixed window (see signups.ratelimit)."""

    ip = models.GenericIPAddressField(_("IP address"))
    # Seconds since the epoch at which the window starts.
    window_start = models.BigIntegerField(_("window start"))
    hits = models.PositiveIntegerField(_("attempts"), default=0)

    class Meta:
        ordering = ["-window_start", "ip"]
        constraints = [
            models.UniqueConstraint(fields=["ip", "window_start"], name="signup_rate_ip_window"),
        ]
        indexes = [
            # The daily purge of past windows.
            models.Index(fields=["window_start"], name="signup_rate_window_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ip} @{self.window_start}: {self.hits}"


class CaptchaChallengeUse(models.Model):
    """An ALTCHA challenge already answered: each one is accepted once (see signups.captcha)."""

    challenge = models.CharField(_("challenge"), max_length=128, unique=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        ordering = ["expires_at"]
        indexes = [
            # The daily purge of expired challenges.
            models.Index(fields=["expires_at"], name="captcha_use_expires_idx"),
        ]

    def __str__(self) -> str:
        return self.challenge
