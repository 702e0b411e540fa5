"""The Marketer, Manager and Administrator groups with their permissions (see staff.roles).

Idempotent: the groups are created when missing and their permissions set, not added. Models
that appear later get into the groups through `sync_roles`, which also runs after every
`migrate`.
"""

from django.db import migrations

from staff.roles import permissions_create, roles_sync


def roles_create(apps, schema_editor) -> None:
    using = schema_editor.connection.alias
    # Permissions are normally created after the whole migrate run: make them exist now.
    permissions_create(apps=apps, using=using)
    roles_sync(apps=apps, using=using)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auditlog", "0017_add_actor_email"),
        ("contacts", "0006_privacy_and_preferences"),
        ("segments", "0004_membership_lighter"),
        ("campaigns", "0003_message_origin"),
        ("scenarios", "0005_enrollment_indexes_paused_at"),
        ("signups", "0001_initial"),
    ]

    operations = [
        # Reversing leaves the groups: users may have been put in them since.
        migrations.RunPython(roles_create, migrations.RunPython.noop),
    ]
