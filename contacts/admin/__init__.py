"""The admin of the contact base; importing this package registers every model."""

from contacts.admin.activity import ActivityAdmin
from contacts.admin.catalog import (
    ContactListAdmin,
    LeadSourceAdmin,
    ListMembershipAdmin,
    TagAdmin,
)
from contacts.admin.contacts import ContactAdmin
from contacts.admin.engagement import EngagementPolicyAdmin
from contacts.admin.imports import ImportJobAdmin
from contacts.admin.pagination import EstimatedCountPaginator, QuickCountPaginator
from contacts.admin.privacy import ErasedAddressAdmin

__all__ = [
    "ActivityAdmin",
    "ContactAdmin",
    "ContactListAdmin",
    "EngagementPolicyAdmin",
    "ErasedAddressAdmin",
    "EstimatedCountPaginator",
    "ImportJobAdmin",
    "LeadSourceAdmin",
    "ListMembershipAdmin",
    "QuickCountPaginator",
    "TagAdmin",
]
