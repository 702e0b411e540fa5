"""Scenarios: templates in a catalogue, scenarios made from them (a graph of blocks), and the
enrollments that carry each contact through a scenario, with the log of every block run.

A scenario's graph is its `Block` rows: each has a `key` unique within the scenario, a `kind`
(the handler that runs it, see `scenarios.blocks`), a `config` and `next`, the key of the block
each of its branches leads to ({"next": "wait"}, {"yes": ..., "no": ...}, {"a": ..., "b": ...,
"control": ...}). A template holds the same graph as JSON, and the campaigns its send blocks
create.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from contacts.models import Contact, ContactList


class ScenarioTemplate(models.Model):
    class Category(models.TextChoices):
        ESSENTIALS = "essentials", _("Essentials")
        INSPIRATION = "inspiration", _("More inspiration")

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.CharField(
        _("category"), max_length=12, choices=Category.choices, default=Category.ESSENTIALS
    )
    # "More inspiration" templates are visible but usable only once an administrator enables
    # them; "Essentials" are enabled from the start.
    is_enabled = models.BooleanField(_("enabled"), default=True)
    # {"blocks": [{"key", "kind", "name", "config", "next"}...],
    #  "campaigns": {placeholder: {"name", "channel", "subject", "html_body", ...}}}
    graph = models.JSONField(_("blocks"), default=dict)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["category", "position", "name"]
        verbose_name = _("scenario template")
        verbose_name_plural = _("scenario templates")
        permissions = [("enable_scenariotemplate", _("Can enable “More inspiration” templates"))]

    def __str__(self) -> str:
        return self.name


class Scenario(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ARCHIVED = "archived", _("Archived")

    name = models.CharField(_("name"), max_length=200)
    template = models.ForeignKey(
        ScenarioTemplate,
        verbose_name=_("template"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scenarios",
    )
    description = models.TextField(_("description"), blank=True)
    # The contact base it works on: a list, or all contacts when empty.
    contact_list = models.ForeignKey(
        ContactList,
        verbose_name=_("contact base"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Only contacts of this list are enrolled; empty: all contacts."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    # On activation, contacts already in the trigger segment are enrolled once too, unless
    # staff chose only new entries.
    only_new_entries = models.BooleanField(
        _("only new entries"),
        default=False,
        help_text=_(
            "Leave unticked to also enrol, on activation, the contacts already in the trigger "
            "segment."
        ),
    )
    # The share of inactive contacts this scenario aims to win back (the 20 % goal).
    goal_percent = models.PositiveSmallIntegerField(
        _("reactivation goal (%)"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    # When it was last paused: on resume, contacts who entered the trigger segment meanwhile
    # are enrolled (the segment did not announce them to a paused scenario).
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    # Enrolling the contacts already in the trigger segment runs in a worker after activation:
    # when it finished and how many it enrolled (empty while it runs, or when not asked for).
    existing_enrolled_at = models.DateTimeField(
        _("segment members enrolled at"), null=True, blank=True
    )
    existing_enrolled = models.PositiveIntegerField(
        _("segment members enrolled"), null=True, blank=True
    )
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
        verbose_name = _("scenario")
        verbose_name_plural = _("scenarios")
        permissions = [("activate_scenario", _("Can activate and pause scenarios"))]

    def __str__(self) -> str:
        return self.name


class Block(models.Model):
    scenario = models.ForeignKey(
        Scenario, verbose_name=_("scenario"), on_delete=models.CASCADE, related_name="blocks"
    )
    key = models.SlugField(_("key"), max_length=50)
    kind = models.CharField(_("kind"), max_length=24)
    name = models.CharField(_("name"), max_length=200, blank=True)
    config = models.JSONField(_("settings"), default=dict, blank=True)
    # Branch name -> key of the next block ("" or missing: the path ends without an end block,
    # which activation refuses).
    next = models.JSONField(_("next blocks"), default=dict, blank=True)
    # Send blocks: the scenario campaign they send.
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["scenario", "position", "id"]
        verbose_name = _("block")
        verbose_name_plural = _("blocks")
        constraints = [
            models.UniqueConstraint(fields=["scenario", "key"], name="block_key_unique"),
        ]

    def __str__(self) -> str:
        return self.name or self.key


class Enrollment(models.Model):
    """One contact's way through one scenario."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        WAITING = "waiting", _("Waiting")
        COMPLETED = "completed", _("Completed")
        EXITED = "exited", _("Exited")

    OPEN_STATES = (State.ACTIVE, State.WAITING)

    id = models.BigAutoField(primary_key=True)
    scenario = models.ForeignKey(
        Scenario, verbose_name=_("scenario"), on_delete=models.CASCADE, related_name="enrollments"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    block = models.ForeignKey(
        Block,
        verbose_name=_("current block"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    # When a waiting enrollment is due again (a wait's end, a wait-for-click's timeout).
    wake_at = models.DateTimeField(_("wake-up time"), null=True, blank=True)
    # Since when it waits at its current block (a wait for a click counts clicks after it).
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    # The A/B split's branch ("a", "b", "control"), for the results per branch.
    branch = models.CharField(_("branch"), max_length=16, blank=True)
    entered_at = models.DateTimeField(_("entered at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # How it ended: an end block's label ("reactivated", "let go"...) or an exit reason.
    outcome = models.CharField(_("outcome"), max_length=40, blank=True)
    # Blocks run so far: the log's sequence number, so that a block runs once per step.
    steps = models.PositiveIntegerField(_("blocks run"), default=0)

    class Meta:
        ordering = ["-entered_at", "-id"]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        constraints = [
            # At most one open enrollment per (scenario, contact).
            models.UniqueConstraint(
                fields=["scenario", "contact"],
                condition=Q(state__in=["active", "waiting"]),
                name="enrollment_open_once",
            ),
        ]
        indexes = [
            # The engine's due enrollments: active ones, and waiting ones whose time has come.
            models.Index(
                fields=["wake_at"],
                name="enrollment_due_idx",
                condition=Q(state__in=["active", "waiting"]),
            ),
            # A scenario's enrollments (live counts, results), and a contact's enrollments in a
            # scenario (enrolment and its re-entry policy).
            models.Index(fields=["scenario", "contact"], name="enrollment_scenario_contact"),
            # The open enrollments standing at a block: clicks waking a wait, a block removed,
            # the "waiting here" counts.
            models.Index(
                fields=["block", "state"],
                name="enrollment_open_block_idx",
                condition=Q(state__in=["active", "waiting"]),
            ),
            # A contact's enrollments in every scenario: campaigns' dilution, GDPR, deletion.
            models.Index(fields=["contact"], name="enrollment_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.scenario_id} / {self.contact_id}"


class EnrollmentStep(models.Model):
    """The log of every block run: append-only, one row per (enrollment, step)."""

    id = models.BigAutoField(primary_key=True)
    enrollment = models.ForeignKey(
        Enrollment,
        verbose_name=_("enrollment"),
        on_delete=models.CASCADE,
        related_name="log",
        db_index=False,
    )
    step = models.PositiveIntegerField(_("step"))
    block = models.ForeignKey(
        Block,
        verbose_name=_("block"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=24)
    # The branch taken ("next", "yes", "a", "clicked", "timeout"...).
    result = models.CharField(_("result"), max_length=40, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    executed_at = models.DateTimeField(_("executed at"), default=timezone.now)

    class Meta:
        ordering = ["enrollment", "step"]
        verbose_name = _("enrollment step")
        verbose_name_plural = _("enrollment steps")
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step"], name="enrollment_step_once"),
        ]
        indexes = [
            # Per block counts: passed, per branch.
            models.Index(fields=["block", "result"], name="enrollmentstep_block_result"),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id} #{self.step} {self.kind}"


class GenericChannelEntry(models.Model):
    """A contact added to a generic channel (a social-ads or postal audience, named by staff),
    exported as CSV for the team that runs it."""

    channel = models.CharField(_("channel"), max_length=100)
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="+"
    )
    scenario = models.ForeignKey(
        Scenario, verbose_name=_("scenario"), on_delete=models.CASCADE, related_name="+"
    )
    enrollment = models.ForeignKey(
        Enrollment,
        verbose_name=_("enrollment"),
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
    )
    added_at = models.DateTimeField(_("added at"), default=timezone.now)
    exported_at = models.DateTimeField(_("exported at"), null=True, blank=True)

    class Meta:
        ordering = ["-added_at"]
        verbose_name = _("generic channel entry")
        verbose_name_plural = _("generic channel entries")
        # The export hands contacts' addresses and phones to another team.
        permissions = [("export_genericchannelentry", _("Can export generic channel entries"))]
        indexes = [models.Index(fields=["channel", "added_at"], name="genericchannel_added")]
        constraints = [
            # Added once per enrollment and channel, however often the block runs.
            models.UniqueConstraint(
                fields=["enrollment", "channel"], name="genericchannel_once_per_enrollment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.contact_id}"
