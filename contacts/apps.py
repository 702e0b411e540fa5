from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _schedules_ensure(*, using: str = "default", **kwargs) -> None:
    from django.db import connections

    from config.schedules import schedules_ensure

    # `migrate django_q zero` (or a partial migrate) may leave no schedule table.
    if "django_q_schedule" in connections[using].introspection.table_names():
        schedules_ensure(using=using)


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = _("Contacts")

    def ready(self) -> None:
        # After every `migrate`, so a new deployment has its recurring jobs without a step.
        post_migrate.connect(_schedules_ensure, sender=self)
