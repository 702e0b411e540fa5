"""The admin of segments; importing this package registers every model."""

from segments.admin.cleaning import CleaningAdmin
from segments.admin.memberships import SegmentMembershipAdmin
from segments.admin.reports import LeadSourceInactivityAdmin
from segments.admin.segments import SegmentAdmin

__all__ = [
    "CleaningAdmin",
    "LeadSourceInactivityAdmin",
    "SegmentAdmin",
    "SegmentMembershipAdmin",
]
