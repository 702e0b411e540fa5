"""Campaigns: what staff send, through which account, to whom, and each message's fate.

A campaign's audience is computed set-based (see `campaigns.audience`) and written as one
`Message` per (campaign, contact): the unique constraint is what makes delivery idempotent, a
message being claimed before it is handed to a backend.
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact, ContactList, SingletonModel
from segments.models import Segment


class SenderProfile(models.Model):
    """An identity and the account it sends through. Reactivation traffic gets its own."""

    class Purpose(models.TextChoices):
        MAIN = "main", _("Main")
        REACTIVATION = "reactivation", _("Reactivation")

    class Connection(models.TextChoices):
        SMTP = "smtp", _("SMTP server")
        ESP = "esp", _("E-mail service provider (django-anymail)")

    name = models.CharField(_("name"), max_length=100, unique=True)
    purpose = models.CharField(
        _("purpose"), max_length=16, choices=Purpose.choices, default=Purpose.MAIN
    )
    from_name = models.CharField(_("from name"), max_length=100)
    from_email = models.EmailField(_("from address"))
    reply_to = models.EmailField(_("reply-to"), blank=True)
    connection = models.CharField(
        _("connection"), max_length=8, choices=Connection.choices, default=Connection.SMTP
    )
    smtp_host = models.CharField(_("SMTP host"), max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_username = models.CharField(_("SMTP user name"), max_length=255, blank=True)
    # Secrets: written in the admin, never shown back (see campaigns.admin).
    smtp_password = models.CharField(_("SMTP password"), max_length=255, blank=True)
    smtp_use_tls = models.BooleanField(_("STARTTLS"), default=True)
    smtp_use_ssl = models.BooleanField(_("SSL/TLS"), default=False)
    esp_name = models.CharField(
        _("provider"),
        max_length=32,
        blank=True,
        help_text=_("The django-anymail backend, e.g. amazon_ses, mailgun, postmark, sendgrid."),
    )
    esp_api_key = models.CharField(_("provider API key"), max_length=255, blank=True)
    esp_settings = models.JSONField(_("provider settings"), default=dict, blank=True)
    rate_per_minute = models.PositiveIntegerField(
        _("sending rate (messages per minute)"),
        default=600,
        validators=[MinValueValidator(1)],
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("sender profile")
        verbose_name_plural = _("sender profiles")

    def __str__(self) -> str:
        return f"{self.name} <{self.from_email}>"


class BouncePolicy(SingletonModel):
    """When soft bounces (a full mailbox, a greylisting server) suppress an address: after this
    many in a row with nothing delivered in between. A hard bounce or a complaint suppresses at
    once. A singleton, edited in the admin."""

    soft_bounce_limit = models.PositiveIntegerField(
        _("soft bounces in a row before suppression"),
        default=3,
        validators=[MinValueValidator(1)],
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("bounce policy")
        verbose_name_plural = _("bounce policy")

    def __str__(self) -> str:
        return str(_("Bounce policy"))


class FrequencyCap(SingletonModel):
    """Commercial pressure: the most marketing messages a contact gets per day, week and month,
    across campaigns (0: no limit). A singleton, edited in the admin."""

    per_day = models.PositiveIntegerField(_("per day"), default=1)
    per_week = models.PositiveIntegerField(_("per week"), default=3)
    per_month = models.PositiveIntegerField(_("per month"), default=8)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("frequency cap")
        verbose_name_plural = _("frequency cap")

    def __str__(self) -> str:
        return str(_("Frequency cap"))


def campaign_key() -> str:
    return secrets.token_hex(8)


class Campaign(models.Model):
    class Kind(models.TextChoices):
        REGULAR = "regular", _("Regular")
        SCENARIO = "scenario", _("Scenario")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=200)
    # The campaign's name in the activity log (`Activity.campaign`): stable when renamed.
    key = models.CharField(_("key"), max_length=32, unique=True, default=campaign_key)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.REGULAR)
    channel = models.CharField(
        _("channel"), max_length=8, choices=Channel.choices, default=Channel.EMAIL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    sender_profile = models.ForeignKey(
        SenderProfile,
        verbose_name=_("sender profile"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
    )
    # When set, the inactive recipients added by dilution go through this profile, so that
    # reactivation traffic never touches the main account's reputation.
    reactivation_profile = models.ForeignKey(
        SenderProfile,
        verbose_name=_("sender profile for inactive recipients"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"purpose": SenderProfile.Purpose.REACTIVATION},
    )

    subject = models.CharField(_("subject"), max_length=255, blank=True)
    preheader = models.CharField(_("preheader"), max_length=255, blank=True)
    html_body = models.TextField(_("HTML body"), blank=True)
    text_body = models.TextField(_("text body"), blank=True)
    sms_text = models.TextField(_("SMS text"), blank=True)

    target_lists = models.ManyToManyField(
        ContactList, verbose_name=_("target lists"), blank=True, related_name="+"
    )
    target_segments = models.ManyToManyField(
        Segment, verbose_name=_("target segments"), blank=True, related_name="+"
    )
    exclude_lists = models.ManyToManyField(
        ContactList, verbose_name=_("excluded lists"), blank=True, related_name="+"
    )
    exclude_segments = models.ManyToManyField(
        Segment, verbose_name=_("excluded segments"), blank=True, related_name="+"
    )
    # Dilution: inactive recipients allowed, as a share of the active ones (5 % by default).
    inactive_share_percent = models.DecimalField(
        _("inactive recipients allowed (% of active)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("5.00"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )

    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # A delivery worker renews this while it works on the campaign; the dispatcher queues
    # another one only once it has passed (a killed worker's campaign is picked up again).
    delivery_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Set in the transaction that wrote the messages: a worker killed before it leaves the
    # campaign unprepared, never "sent" to nobody.
    prepared_at = models.DateTimeField(_("messages written at"), null=True, blank=True)

    # The audience as computed when sending started (see campaigns.audience).
    recipients_count = models.IntegerField(_("recipients"), default=0)
    active_count = models.IntegerField(_("active recipients"), default=0)
    inactive_count = models.IntegerField(_("inactive recipients"), default=0)
    suppressed_count = models.IntegerField(_("suppressed"), default=0)
    capped_count = models.IntegerField(_("skipped by the frequency cap"), default=0)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        permissions = [
            ("send_campaign", _("Can send, schedule, pause, resume and cancel campaigns")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def inactive_share_actual(self) -> Decimal | None:
        """The share of inactive recipients in what was sent, in % of the active ones."""
        if not self.active_count:
            return None
        return (Decimal(self.inactive_count) * 100 / self.active_count).quantize(Decimal("0.01"))


def message_token() -> str:
    # Unguessable per message: the key of its tracking and unsubscribe links.
    return secrets.token_urlsafe(16)


class Message(models.Model):
    """One campaign message to one contact. Claimed (pending -> sending) before a backend sees it,
    so a retried task or a second worker never sends it twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="messages"
    )
    # Covered by the (contact, sent_at) index.
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
    )
    sender_profile = models.ForeignKey(
        SenderProfile,
        verbose_name=_("sender profile"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    is_inactive = models.BooleanField(_("inactive recipient"), default=False)
    # What asked for it: "" for a regular campaign's send, "<enrollment id>:<block id>" for a
    # scenario's send block (a contact re-entering a scenario gets the campaign again).
    origin = models.CharField(_("origin"), max_length=40, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.PENDING
    )
    token = models.CharField(_("token"), max_length=32, unique=True, default=message_token)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=255, blank=True)
    error = models.TextField(_("error"), blank=True)
    # What happened next, first time each (human opens and clicks only; machine opens apart).
    # Set by tracking and provider webhooks with a conditional update; the campaign report
    # counts them without reading the activity log.
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    machine_opened_at = models.DateTimeField(_("machine open at"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("clicked at"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)
    bounced_at = models.DateTimeField(_("bounced at"), null=True, blank=True)
    complained_at = models.DateTimeField(_("complained at"), null=True, blank=True)
    # Its `sent` activity is in the log (written after the send, in bulk per batch; a worker
    # killed in between leaves it False and the next run writes it).
    activity_recorded = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            # Once per contact for a regular campaign (origin ""); once per scenario
            # enrollment and send block for a scenario campaign (origin "<enrollment>:<block>").
            models.UniqueConstraint(
                fields=["campaign", "contact", "origin"], name="message_once_per_origin"
            ),
        ]
        indexes = [
            # The next batch of a campaign to claim, and its report by status.
            models.Index(fields=["campaign", "status", "id"], name="message_campaign_status_idx"),
            # A contact's messages, newest first (contact page, support questions).
            models.Index(fields=["contact", "sent_at"], name="message_contact_sent_idx"),
            # Provider webhooks name the message by the provider's id. Partial: a message gets
            # its id once sent, so the insert of a campaign's messages does not touch it.
            models.Index(
                fields=["provider_message_id"],
                name="message_provider_id_idx",
                condition=~Q(provider_message_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.contact_id}"
