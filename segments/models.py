"""Segments: rules over the contact base, and who is in them over time.

A segment's `rule` is a tree of conditions (see `segments.rules`). Workers evaluate it on the
segment's interval and write the difference to `SegmentMembership`: one row per stay, opened
when the contact enters and closed when it leaves, so that the history stays and the current
members are the open rows.
"""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact, EmailStatus, LeadSource


def default_rule() -> dict:
    return {"match": "all", "conditions": []}


class Segment(models.Model):
    name = models.CharField(_("name"), max_length=150, unique=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    description = models.TextField(_("description"), blank=True)
    rule = models.JSONField(_("rule"), default=default_rule)
    is_active = models.BooleanField(
        _("active"), default=False, help_text=_("Workers keep an active segment's members current.")
    )
    evaluation_interval_hours = models.PositiveSmallIntegerField(
        _("evaluate every (hours)"),
        default=12,
        validators=[MinValueValidator(1)],
        help_text=_("Workers evaluate an active segment this often, counted from its activation."),
    )
    is_builtin = models.BooleanField(_("built in"), default=False, editable=False)
    next_evaluation_at = models.DateTimeField(_("next evaluation"), null=True, blank=True)
    last_evaluated_at = models.DateTimeField(_("last evaluated"), null=True, blank=True)
    last_evaluation_duration = models.DurationField(
        _("last evaluation took"), null=True, blank=True
    )
    member_count = models.IntegerField(_("members"), default=0)
    # The lock: set by the conditional update that starts an evaluation, cleared at its end.
    # A worker killed mid-evaluation leaves it set; it is taken over once older than the
    # task timeout (see segments.services.evaluation).
    evaluation_started_at = models.DateTimeField(
        _("evaluation started"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name

    @property
    def evaluation_interval(self) -> timedelta:
        return timedelta(hours=self.evaluation_interval_hours)


class SegmentMembership(models.Model):
    """One stay of a contact in a segment: open (`exited_at` empty) while it lasts.

    A full evaluation inserts a whole segment at once (hundreds of thousands of rows), so the
    table carries as little as it can: no database-level foreign keys (their per-row checks
    doubled that insert's time; Django still cascades deletions of contacts and segments, and
    an evaluation closes any stay whose contact no longer matches) and one index.
    """

    id = models.BigAutoField(primary_key=True)
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment"),
        on_delete=models.CASCADE,
        related_name="memberships",
        db_constraint=False,
        db_index=False,
    )
    # No index of its own: a contact's segments are read through the open-membership index
    # with the (few) segment ids.
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="segment_memberships",
        db_constraint=False,
        db_index=False,
    )
    entered_at = models.DateTimeField(_("entered at"))
    exited_at = models.DateTimeField(_("exited at"), null=True, blank=True)

    class Meta:
        ordering = ["-entered_at", "-id"]
        verbose_name = _("segment membership")
        verbose_name_plural = _("segment memberships")
        constraints = [
            # At most one open stay per contact and segment. Serves the evaluation's anti-joins,
            # "in segment" conditions, member lists and exports, and the entries of one
            # evaluation (open stays of the segment, filtered on `entered_at`).
            models.UniqueConstraint(
                fields=["segment", "contact"],
                condition=Q(exited_at__isnull=True),
                name="segment_membership_open_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id}"


class SegmentEvaluation(models.Model):
    """One evaluation of a segment: what changed and how long it took. Append-only."""

    class Status(models.TextChoices):
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), on_delete=models.CASCADE, related_name="evaluations"
    )
    started_at = models.DateTimeField(_("started at"))
    duration = models.DurationField(_("duration"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    entered = models.IntegerField(_("entered"), default=0)
    exited = models.IntegerField(_("exited"), default=0)
    members = models.IntegerField(_("members"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("segment evaluation")
        verbose_name_plural = _("segment evaluations")
        indexes = [
            # A segment's latest evaluations (trend report, segment page).
            models.Index(fields=["segment", "started_at"], name="segment_evaluation_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} at {self.started_at:%Y-%m-%d %H:%M}"


class Cleaning(models.Model):
    """A list cleaning: contacts whose e-mail status staff set to `cleaned`, and its reversal.

    Staff request a cleaning (and later its revert); a worker runs it. `status` follows the
    cleaning, `revert_status` its revert. Both runs are one transaction each: a failed one
    changed no contact.
    """

    class Kind(models.TextChoices):
        NEVER_OPENED = "never_opened", _("Never opened in the last N days")
        NEVER_CLICKED = "never_clicked", _("Never clicked in the last N days")
        SEGMENT = "segment", _("Members of a segment")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class RevertStatus(models.TextChoices):
        NONE = "none", _("Not reverted")
        PENDING = "pending", _("Revert pending")
        RUNNING = "running", _("Reverting")
        DONE = "done", _("Reverted")
        FAILED = "failed", _("Revert failed")

    # The criterion's label, in the language of whoever asked for the cleaning.
    criterion = models.CharField(_("criterion"), max_length=255)
    # What the worker runs. Empty on the cleanings that ran before workers did.
    kind = models.CharField(_("kind of criterion"), max_length=16, choices=Kind.choices, blank=True)
    days = models.PositiveIntegerField(_("N (days)"), null=True, blank=True)
    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), on_delete=models.SET_NULL, null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    contact_count = models.IntegerField(_("contacts cleaned"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cleaned by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("cleaned at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    revert_status = models.CharField(
        _("revert status"), max_length=10, choices=RevertStatus.choices, default=RevertStatus.NONE
    )
    # Who asked for the revert, and when; `reverted_at` is when the worker restored the contacts.
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reverted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revert_requested_at = models.DateTimeField(_("revert requested at"), null=True, blank=True)
    reverted_at = models.DateTimeField(_("reverted at"), null=True, blank=True)
    restored_count = models.IntegerField(_("contacts restored"), default=0)
    revert_error = models.TextField(_("revert error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("cleaning")
        verbose_name_plural = _("cleanings")

    def __str__(self) -> str:
        return f"{self.criterion} ({self.created_at:%Y-%m-%d})"

    @property
    def is_busy(self) -> bool:
        """A worker has the cleaning or its revert to run, or is running it."""
        return self.status in (self.Status.PENDING, self.Status.RUNNING) or self.revert_status in (
            self.RevertStatus.PENDING,
            self.RevertStatus.RUNNING,
        )

    @property
    def can_be_reverted(self) -> bool:
        """Done, and neither reverted nor being reverted (a failed revert changed nothing)."""
        return self.status == self.Status.DONE and self.revert_status in (
            self.RevertStatus.NONE,
            self.RevertStatus.FAILED,
        )


class CleanedContact(models.Model):
    """A contact a cleaning suppressed, with the status it had, so the cleaning can be undone."""

    id = models.BigAutoField(primary_key=True)
    cleaning = models.ForeignKey(
        Cleaning, verbose_name=_("cleaning"), on_delete=models.CASCADE, related_name="contacts"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="+"
    )
    previous_status = models.CharField(
        _("previous e-mail status"), max_length=16, choices=EmailStatus.choices
    )
    previous_reason = models.CharField(_("previous reason"), max_length=100, blank=True)
    previous_changed_at = models.DateTimeField(_("previous change"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("cleaned contact")
        verbose_name_plural = _("cleaned contacts")
        constraints = [
            models.UniqueConstraint(fields=["cleaning", "contact"], name="cleaned_contact_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} cleaned by {self.cleaning_id}"


class LeadSourceInactivity(LeadSource):
    """The admin's "Inactivity by lead source" report (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("inactivity by lead source")
        verbose_name_plural = _("inactivity by lead source")
