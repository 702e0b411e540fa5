"""The contact base: contacts, where they came from, the lists they are on, and what they did.

Contacts carry rollups of their activity (`last_open_at`, ...) so that segment rules read one
row per contact instead of scanning tens of millions of events. `contacts.services.activity`
keeps the rollups in step with the `Activity` log.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EmailStatus(models.TextChoices):
    SUBSCRIBED = "subscribed", _("Subscribed")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Complained")
    CLEANED = "cleaned", _("Cleaned")


class SmsStatus(models.TextChoices):
    NO_CONSENT = "no_consent", _("No consent")
    SUBSCRIBED = "subscribed", _("Subscribed")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Complained")
    CLEANED = "cleaned", _("Cleaned")


class EngagementLevel(models.TextChoices):
    RECENT = "recent", _("Recent activity")
    ENGAGED = "engaged", _("Engaged")
    DISENGAGED = "disengaged", _("Disengaged")
    INACTIVE = "inactive", _("Inactive")
    NEVER = "never", _("Never engaged")


class LeadSource(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("lead source")
        verbose_name_plural = _("lead sources")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class ContactList(models.Model):
    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    # Lists are often internal (an import, a trade fair): only those staff mark public are
    # shown to contacts, who may then join or leave them from the preference centre.
    is_public = models.BooleanField(
        _("shown in the preference centre"),
        default=False,
        help_text=_(
            "Contacts see this list (its name and description) on their preference page and "
            "may join or leave it."
        ),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact list")
        verbose_name_plural = _("contact lists")

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    # Stored trimmed and lower-cased (see contacts.normalize), so one plain unique index
    # serves uniqueness, exact look-ups and (with the pattern opclass on PostgreSQL) the
    # admin's prefix search. `unique=True` would add a second `_like` index on PostgreSQL.
    email = models.CharField(_("e-mail"), max_length=254)
    phone = models.CharField(_("phone (E.164)"), max_length=20, blank=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    # No index: the reports by source scan the whole table anyway, a filtered admin page
    # reads the newest contacts backwards by id, and every index slows imports down.
    lead_source = models.ForeignKey(
        LeadSource,
        verbose_name=_("lead source"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        db_index=False,
        # No foreign key in the database: checking it costs an import ~4.5 s per million
        # rows. Imports only write ids of existing sources, and deleting a source still sets
        # its contacts' source to empty (Django's SET_NULL, done by the ORM).
        db_constraint=False,
    )
    created_at = models.DateTimeField(_("in the base since"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    email_status = models.CharField(
        _("e-mail status"),
        max_length=16,
        choices=EmailStatus.choices,
        default=EmailStatus.SUBSCRIBED,
    )
    email_status_reason = models.CharField(_("e-mail status reason"), max_length=100, blank=True)
    email_status_changed_at = models.DateTimeField(
        _("e-mail status changed at"), null=True, blank=True
    )
    sms_status = models.CharField(
        _("SMS status"), max_length=16, choices=SmsStatus.choices, default=SmsStatus.NO_CONSENT
    )
    # Set by the GDPR erasure (contacts.services.privacy): the row stays, anonymised, so that
    # the statistics that count it keep their numbers.
    erased_at = models.DateTimeField(_("personal data erased at"), null=True, blank=True)

    loyalty_points = models.IntegerField(_("loyalty points"), default=0)
    loyalty_points_expire_on = models.DateField(_("points expire on"), null=True, blank=True)
    score = models.IntegerField(_("score"), default=0)
    engagement_level = models.CharField(
        _("engagement level"),
        max_length=16,
        choices=EngagementLevel.choices,
        default=EngagementLevel.NEVER,
    )
    attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)

    # Rollups of the activity log, rebuilt by `rebuild_rollups`.
    last_targeted_at = models.DateTimeField(_("last targeted"), null=True, blank=True)
    last_open_at = models.DateTimeField(_("last open"), null=True, blank=True)
    last_click_at = models.DateTimeField(_("last click"), null=True, blank=True)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True)

    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="contacts")
    lists = models.ManyToManyField(
        ContactList,
        verbose_name=_("lists"),
        through="ListMembership",
        blank=True,
        related_name="contacts",
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            # One index for uniqueness, `=` and `LIKE 'prefix%'` (admin search): the pattern
            # opclass keeps equality semantics, so ON CONFLICT (email) still infers it.
            # SQLite ignores the opclass.
            models.UniqueConstraint(
                fields=["email"],
                name="contact_email_unique",
                opclasses=["varchar_pattern_ops"],
            ),
        ]
        # Segment rules compare these dates ("more than 6 months ago", "within 3 months").
        # The rollup indexes are partial: a new contact (all NULL) costs nothing to import,
        # and "never" is answered by the scan the other conditions need anyway.
        indexes = [
            models.Index(fields=["created_at"], name="contact_created_at_idx"),
            models.Index(
                fields=["last_targeted_at"],
                name="contact_last_targeted_idx",
                condition=Q(last_targeted_at__isnull=False),
            ),
            models.Index(
                fields=["last_open_at"],
                name="contact_last_open_idx",
                condition=Q(last_open_at__isnull=False),
            ),
            models.Index(
                fields=["last_click_at"],
                name="contact_last_click_idx",
                condition=Q(last_click_at__isnull=False),
            ),
            models.Index(
                fields=["last_purchase_at"],
                name="contact_last_purchase_idx",
                condition=Q(last_purchase_at__isnull=False),
            ),
            models.Index(
                fields=["last_visit_at"],
                name="contact_last_visit_idx",
                condition=Q(last_visit_at__isnull=False),
            ),
        ]

        # PostgreSQL also has UPPER(first_name) / UPPER(last_name) pattern indexes for the
        # admin's name search: see migration 0002 (they need an operator class SQLite lacks).

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class ListMembership(models.Model):
    contact_list = models.ForeignKey(
        ContactList, verbose_name=_("list"), on_delete=models.CASCADE, related_name="memberships"
    )
    # The (contact_list, contact) unique index serves "members of a list"; this one serves
    # "lists of a contact" on the contact page and the "in list" segment condition.
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="memberships"
    )
    subscribed_at = models.DateTimeField(_("subscribed at"), default=timezone.now)

    class Meta:
        ordering = ["-subscribed_at", "-id"]
        verbose_name = _("list membership")
        verbose_name_plural = _("list memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["contact_list", "contact"], name="list_membership_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.contact_list_id}"


class ActivityKind(models.TextChoices):
    SENT = "sent", _("E-mail sent")
    DELIVERED = "delivered", _("E-mail delivered")
    OPEN = "open", _("Open")
    CLICK = "click", _("Click")
    BOUNCE = "bounce", _("Bounce")
    COMPLAINT = "complaint", _("Complaint")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribe")
    PURCHASE = "purchase", _("Purchase")
    VISIT = "visit", _("Visit")
    SMS_SENT = "sms_sent", _("SMS sent")
    SMS_CLICK = "sms_click", _("SMS click")
    # "Keep me subscribed" on the preference or unsubscribe page: engagement, like a click.
    STAY = "stay", _("Stayed subscribed")
    # A change made by the contact on the preference page (lists, channels): consent history.
    PREFERENCES = "preferences", _("Preferences changed")


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    WEB = "web", _("Web")
    STORE = "store", _("Store")
    OTHER = "other", _("Other")


class Activity(models.Model):
    """One thing that happened to or was done by a contact. Append-only.

    `natural_key` is unique: loading the same event twice (a re-imported file, a retried
    webhook) stores it once. See `contacts.services.activity.activity_natural_key`.
    """

    id = models.BigAutoField(primary_key=True)
    # Covered by the (contact, kind, occurred_at) index below; a separate FK index would only
    # slow down inserts into the largest table.
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="activities",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    channel = models.CharField(
        _("channel"), max_length=8, choices=Channel.choices, default=Channel.EMAIL
    )
    # A Relance campaign's key, or the campaign name from an imported history.
    campaign = models.CharField(_("campaign"), max_length=200, blank=True)
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    # Privacy-proxy or security-scanner prefetch: recorded, never counted as engagement.
    is_machine = models.BooleanField(_("machine"), default=False)
    external_id = models.CharField(_("external id"), max_length=255, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    natural_key = models.UUIDField(_("natural key"), unique=True, editable=False)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            # Rollups ("latest open of these contacts"), the contact timeline and the segment
            # conditions that count events in a window ("opened at least N times since ...").
            models.Index(
                fields=["contact", "kind", "occurred_at"], name="activity_contact_kind_at_idx"
            ),
            # The campaigns' frequency cap: who was sent something in the last 30 days. Partial,
            # so it holds only the sends, and the 30-day window reads a few index pages instead
            # of the whole log (the index above starts with the contact).
            models.Index(
                fields=["occurred_at", "contact"],
                name="activity_send_at_idx",
                # OR rather than IN: PostgreSQL prints the IN form back as a definition that
                # re-parses differently, which seed_demo's drop-and-rebuild would then change.
                condition=Q(kind="sent") | Q(kind="sms_sent"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M}"


class ErasedAddress(models.Model):
    """An e-mail address or phone number whose owner had their data erased (GDPR), kept only
    as the SHA-256 of its normalised form, so that imports and sign-ups can refuse it without
    Relance holding the address itself (see contacts.privacy).

    Not linked to the anonymised contact: the fingerprint must outlive that row (deleting it,
    or emptying the demo base, must not let the address back in); the admin log names the
    contact an erasure was made on."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    # Hex SHA-256 of the trimmed, lower-cased e-mail or of the E.164 phone number.
    digest = models.CharField(_("SHA-256"), max_length=64)
    erased_at = models.DateTimeField(_("erased at"), default=timezone.now)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("erased by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-erased_at", "-id"]
        verbose_name = _("erased address")
        verbose_name_plural = _("erased addresses")
        constraints = [
            # Serves `address_is_erased` (one look-up by kind and digest) and keeps an address
            # erased twice (two contacts sharing a phone) as one row.
            models.UniqueConstraint(fields=["kind", "digest"], name="erased_address_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.digest[:12]}…"


class ImportJob(models.Model):
    """A contact import run by a worker: the uploaded file, its options, progress and result."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    contact_list = models.ForeignKey(
        ContactList, verbose_name=_("add to list"), on_delete=models.SET_NULL, null=True, blank=True
    )
    lead_source = models.ForeignKey(
        LeadSource,
        verbose_name=_("default lead source"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    update_existing = models.BooleanField(_("update existing contacts"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    bytes_total = models.BigIntegerField(_("file size"), default=0)
    bytes_read = models.BigIntegerField(_("bytes read"), default=0)
    rows_read = models.IntegerField(_("rows read"), default=0)
    created_count = models.IntegerField(_("created"), default=0)
    updated_count = models.IntegerField(_("updated"), default=0)
    unchanged_count = models.IntegerField(_("unchanged"), default=0)
    rejected_count = models.IntegerField(_("rejected"), default=0)
    merged_count = models.IntegerField(_("duplicates merged"), default=0)
    rejects_file = models.FileField(
        _("rejected rows"), upload_to="imports/rejects/%Y/%m/", blank=True
    )
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.bytes_total:
            return 0
        return min(99, int(self.bytes_read * 100 / self.bytes_total))


class SingletonModel(models.Model):
    """Settings kept as one row (pk 1), created on first use and edited in the admin
    (see `contacts.admin.singletons.SingletonAdminMixin`)."""

    SINGLETON_PK = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_PK, editable=False)

    class Meta:
        abstract = True

    @classmethod
    def load(cls):
        row, _created = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return row


class EngagementPolicy(SingletonModel):
    """How `contacts.services.engagement` turns days since the last engagement into a level,
    and how much each change of level moves the score. One row (pk 1), edited in the admin."""

    recent_days = models.PositiveIntegerField(
        _("recent activity: up to (days)"),
        default=7,
        validators=[MinValueValidator(1)],
        help_text=_("Engaged this many days ago or less: recent activity."),
    )
    engaged_days = models.PositiveIntegerField(
        _("engaged: up to (days)"),
        default=21,
        validators=[MinValueValidator(1)],
        help_text=_("Engaged this many days ago or less (and not recently): engaged."),
    )
    disengaged_days = models.PositiveIntegerField(
        _("disengaged: up to (days)"),
        default=30,
        validators=[MinValueValidator(1)],
        help_text=_("Engaged this many days ago or less: disengaged; longer ago: inactive."),
    )
    # Bounded so that a typo cannot push scores past what an integer column holds.
    score_recent = models.IntegerField(
        _("score on becoming recently active"),
        default=10,
        validators=[MinValueValidator(-1000), MaxValueValidator(1000)],
    )
    score_engaged = models.IntegerField(
        _("score on becoming engaged"),
        default=10,
        validators=[MinValueValidator(-1000), MaxValueValidator(1000)],
    )
    score_disengaged = models.IntegerField(
        _("score on becoming disengaged"),
        default=-5,
        validators=[MinValueValidator(-1000), MaxValueValidator(1000)],
    )
    score_inactive = models.IntegerField(
        _("score on becoming inactive"),
        default=-10,
        validators=[MinValueValidator(-1000), MaxValueValidator(1000)],
    )
    score_never = models.IntegerField(
        _("score on becoming never engaged"),
        default=0,
        validators=[MinValueValidator(-1000), MaxValueValidator(1000)],
    )
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("engagement policy")
        verbose_name_plural = _("engagement policy")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="engagement_policy_singleton"),
            # The levels are read from the shortest period to the longest: overlapping
            # periods would make one of them unreachable.
            models.CheckConstraint(
                condition=Q(recent_days__gte=1)
                & Q(engaged_days__gt=F("recent_days"))
                & Q(disengaged_days__gt=F("engaged_days")),
                name="engagement_policy_days_increase",
                violation_error_message=_(
                    "The periods must increase: recent activity < engaged < disengaged."
                ),
            ),
        ]

    def __str__(self) -> str:
        return str(_("Engagement policy"))

    def clean(self) -> None:
        errors = {}
        if self.recent_days and self.engaged_days and self.engaged_days <= self.recent_days:
            errors["engaged_days"] = _("Must be more than the recent activity period.")
        if self.engaged_days and self.disengaged_days and self.disengaged_days <= self.engaged_days:
            errors["disengaged_days"] = _("Must be more than the engaged period.")
        if errors:
            raise ValidationError(errors)

    def score_for(self, level: str) -> int:
        """The score change on becoming `level` (moves within recent/engaged aside)."""
        return {
            EngagementLevel.RECENT: self.score_recent,
            EngagementLevel.ENGAGED: self.score_engaged,
            EngagementLevel.DISENGAGED: self.score_disengaged,
            EngagementLevel.INACTIVE: self.score_inactive,
            EngagementLevel.NEVER: self.score_never,
        }[level]


class EngagementChange(models.Model):
    """One change of a contact's engagement level and what it did to the score. Append-only:
    written by `contacts.services.engagement`, never edited."""

    id = models.BigAutoField(primary_key=True)
    # Covered by the (contact, changed_at) index below.
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="engagement_changes",
        db_index=False,
    )
    from_level = models.CharField(_("from level"), max_length=16, choices=EngagementLevel.choices)
    to_level = models.CharField(_("to level"), max_length=16, choices=EngagementLevel.choices)
    score_delta = models.IntegerField(_("score change"))
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("engagement change")
        verbose_name_plural = _("engagement changes")
        indexes = [
            # The contact page's history (one contact's changes, newest first) and the
            # cascade when a contact is deleted.
            models.Index(fields=["contact", "changed_at"], name="engagement_change_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.from_level} → {self.to_level} {self.changed_at:%Y-%m-%d %H:%M}"
