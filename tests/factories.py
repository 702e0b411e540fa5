"""factory_boy factories, one per model, shared by every app's tests."""

import factory
from django.utils import timezone

from contacts.models import Activity, ActivityKind, Contact, ContactList, LeadSource, Tag
from contacts.services import activity_natural_key


class LeadSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadSource
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Source {n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"tag-{n}")


class ContactListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactList
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"List {n}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class ActivityFactory(factory.django.DjangoModelFactory):
    """An activity row written directly (no rollup update): use activities_record for that."""

    class Meta:
        model = Activity

    contact = factory.SubFactory(ContactFactory)
    kind = ActivityKind.OPEN
    occurred_at = factory.LazyFunction(timezone.now)
    natural_key = factory.LazyAttribute(
        lambda o: activity_natural_key(
            contact_id=o.contact.pk, kind=o.kind, occurred_at=o.occurred_at, campaign=o.campaign
        )
    )
    campaign = ""


class SegmentFactory(factory.django.DjangoModelFactory):
    """A segment with a stored rule (everyone unless given one); not cleaned, like a raw save."""

    class Meta:
        model = "segments.Segment"

    name = factory.Sequence(lambda n: f"Segment {n}")
    slug = factory.Sequence(lambda n: f"segment-{n}")
    rule = factory.LazyFunction(lambda: {"match": "all", "conditions": []})
    is_active = True


class SegmentMembershipFactory(factory.django.DjangoModelFactory):
    """One stay of a contact in a segment, open unless `exited_at` is given."""

    class Meta:
        model = "segments.SegmentMembership"

    segment = factory.SubFactory(SegmentFactory)
    contact = factory.SubFactory(ContactFactory)
    entered_at = factory.LazyFunction(timezone.now)
    exited_at = None


class SenderProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "campaigns.SenderProfile"
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Sender {n}")
    from_name = "Relance"
    from_email = factory.Sequence(lambda n: f"news{n}@example.com")


class CampaignFactory(factory.django.DjangoModelFactory):
    """A draft regular e-mail campaign; pass `target_lists=[...]` etc. to target contacts."""

    class Meta:
        model = "campaigns.Campaign"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Campaign {n}")
    sender_profile = factory.SubFactory(SenderProfileFactory)
    subject = "News"

    @factory.post_generation
    def target_lists(self, create, extracted, **kwargs):
        if create and extracted:
            self.target_lists.set(extracted)

    @factory.post_generation
    def target_segments(self, create, extracted, **kwargs):
        if create and extracted:
            self.target_segments.set(extracted)

    @factory.post_generation
    def exclude_lists(self, create, extracted, **kwargs):
        if create and extracted:
            self.exclude_lists.set(extracted)

    @factory.post_generation
    def exclude_segments(self, create, extracted, **kwargs):
        if create and extracted:
            self.exclude_segments.set(extracted)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "campaigns.Message"

    campaign = factory.SubFactory(CampaignFactory)
    contact = factory.SubFactory(ContactFactory)
    sender_profile = factory.SelfAttribute("campaign.sender_profile")
