"""Sign-up form factory: saved through the service, so the consent text has its version."""

import factory

from signups.models import SignupForm
from signups.services import signup_form_save
from tests.factories import ContactListFactory


class SignupFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SignupForm

    name = factory.Sequence(lambda n: f"Newsletter form {n}")
    slug = factory.Sequence(lambda n: f"newsletter-{n}")
    contact_list = factory.SubFactory(ContactListFactory)
    consent_text = "I agree to receive the newsletter."
    asked_fields = factory.LazyFunction(lambda: ["first_name"])
    expiry_days = 7

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return signup_form_save(form=model_class(*args, **kwargs))
