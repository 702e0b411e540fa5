from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = _("Staff and audit")

    def ready(self) -> None:
        from staff.admin import object_history_with_audit_trail
        from staff.audit import audit_register

        audit_register()
        # The admin's autodiscovery ran before (django.contrib.admin is listed first).
        object_history_with_audit_trail()
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="staff.roles_sync")


def roles_sync_after_migrate(
    sender, *, apps=global_apps, using: str = DEFAULT_DB_ALIAS, plan=None, **kwargs
) -> None:
    """Put the models that new migrations brought into the role groups.

    post_migrate is sent once per app that has models: act on the last one only, once
    Django's own handlers created the permissions of every app. `flush` sends it too, without
    a plan: an emptied database is not migrated, and the test runner restores its groups
    from a snapshot that recreating them here would collide with.
    """
    from staff.roles import roles_sync

    with_models = [config for config in global_apps.get_app_configs() if config.models_module]
    if plan is None or sender.label != with_models[-1].label:
        return
    roles_sync(apps=apps, using=using)
