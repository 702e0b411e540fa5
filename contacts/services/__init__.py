"""Business rules of the contact base. Admin, views, tasks and commands call these."""

from contacts.services.activity import (
    ActivityEvent,
    RecordResult,
    activities_record,
    activity_natural_key,
    contact_rollups_rebuild,
    contact_rollups_refresh,
)
from contacts.services.engagement import (
    EngagementUpdateResult,
    engagement_levels_update,
)
from contacts.services.privacy import contact_erase, contact_export

__all__ = [
    "ActivityEvent",
    "EngagementUpdateResult",
    "RecordResult",
    "activities_record",
    "activity_natural_key",
    "contact_erase",
    "contact_export",
    "contact_rollups_rebuild",
    "contact_rollups_refresh",
    "engagement_levels_update",
]
