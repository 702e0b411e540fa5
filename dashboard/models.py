"""The dashboard's own data: one snapshot of the contact base per day, for the charts over time.

Contacts only hold their current engagement level, so the history the dashboard draws is taken
once a day (see `dashboard.services.base_snapshot_take`) and kept here, a few hundred bytes a day.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BaseSnapshot(models.Model):
    """The contact base on one day: contacts per engagement level, and the `inactive` segment."""

    # The local date (settings.TIME_ZONE) the snapshot describes; one row per day, upserted.
    day = models.DateField(_("day"), unique=True)
    recent = models.IntegerField(_("recent activity"), default=0)
    engaged = models.IntegerField(_("engaged"), default=0)
    disengaged = models.IntegerField(_("disengaged"), default=0)
    inactive = models.IntegerField(_("inactive"), default=0)
    never = models.IntegerField(_("never engaged"), default=0)
    total = models.IntegerField(_("contacts"), default=0)
    # Current members of the built-in `inactive` segment; empty while it was never evaluated
    # (or was deleted): unknown, which is not the same as none.
    inactive_segment_size = models.IntegerField(_("inactive segment"), null=True, blank=True)
    # Rebuilt afterwards from the activity log (`seed_demo_dashboard`), not taken on the day.
    reconstructed = models.BooleanField(_("reconstructed"), default=False)
    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("base snapshot")
        verbose_name_plural = _("base snapshots")

    def __str__(self) -> str:
        return self.day.isoformat()

    @property
    def inactive_segment_share(self) -> float | None:
        """The `inactive` segment's members as a fraction of all contacts (0 to 1)."""
        if self.inactive_segment_size is None or not self.total:
            return None
        return self.inactive_segment_size / self.total
