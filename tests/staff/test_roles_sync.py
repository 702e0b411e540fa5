"""The role groups: created by the staff migration, kept in step with the rules of staff.roles
by `sync_roles` (and after every migrate), new models included."""

import importlib
from io import StringIO
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from staff.roles import ADMINISTRATOR, MANAGER, MARKETER, roles_sync

pytestmark = pytest.mark.django_db


def codenames(role: str) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in Group.objects.get(name=role).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_migrate_creates_the_three_roles_each_above_the_previous():
    marketer, manager, administrator = (codenames(r) for r in (MARKETER, MANAGER, ADMINISTRATOR))

    assert marketer < manager < administrator
    assert len(administrator) == Permission.objects.count()
    assert manager - marketer >= {
        "campaigns.send_campaign",
        "scenarios.activate_scenario",
        "scenarios.enable_scenariotemplate",
        "segments.add_cleaning",
        "segments.change_cleaning",
        "contacts.delete_contact",
    }
    assert "campaigns.change_senderprofile" not in manager
    assert "auth.change_user" not in manager


def test_a_second_sync_changes_nothing():
    results = roles_sync()

    assert [result.changed for result in results] == [False, False, False]


def test_sync_undoes_a_hand_edit_of_a_role_group():
    marketer = Group.objects.get(name=MARKETER)
    marketer.permissions.add(Permission.objects.get(codename="delete_contact"))

    [result, *_others] = roles_sync()

    assert result.removed == ("contacts.delete_contact",)
    assert "contacts.delete_contact" not in codenames(MARKETER)


def test_sync_puts_a_new_model_of_a_marketing_app_into_the_roles():
    # A model an app gains later, as its permissions appear after migrate.
    new_type = ContentType.objects.create(app_label="signups", model="landingpage")
    for action in ("view", "add", "change", "delete"):
        Permission.objects.create(
            content_type=new_type, codename=f"{action}_landingpage", name=f"Can {action}"
        )

    roles_sync()

    assert "signups.view_landingpage" in codenames(MARKETER)
    assert "signups.add_landingpage" not in codenames(MANAGER)
    assert "signups.delete_landingpage" in codenames(ADMINISTRATOR)


def test_the_migration_creates_the_groups_from_the_historical_models():
    Group.objects.filter(name__in=[MARKETER, MANAGER, ADMINISTRATOR]).delete()
    migration = importlib.import_module("staff.migrations.0001_roles")
    state = MigrationExecutor(connection).loader.project_state(("staff", "0001_roles"))

    migration.roles_create(state.apps, SimpleNamespace(connection=connection))
    migration.roles_create(state.apps, SimpleNamespace(connection=connection))

    assert Group.objects.filter(name__in=[MARKETER, MANAGER, ADMINISTRATOR]).count() == 3
    assert "campaigns.send_campaign" in codenames(MANAGER)
    assert "campaigns.send_campaign" not in codenames(MARKETER)


def test_migrate_puts_the_roles_back_when_they_are_missing():
    Group.objects.filter(name=MANAGER).delete()

    # What `migrate` sends at its end, even with nothing to migrate.
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default", plan=[])

    assert "scenarios.activate_scenario" in codenames(MANAGER)


def test_a_flush_leaves_the_groups_to_the_test_runner():
    Group.objects.filter(name=MANAGER).delete()

    # What `flush` sends: no plan.
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    assert not Group.objects.filter(name=MANAGER).exists()


def test_sync_roles_dry_run_says_what_it_would_do_and_does_nothing():
    Group.objects.get(name=MANAGER).permissions.remove(
        Permission.objects.get(codename="send_campaign")
    )
    out = StringIO()

    call_command("sync_roles", "--dry-run", stdout=out)

    assert "Manager: would get campaigns.send_campaign" in out.getvalue()
    assert "Marketer: up to date." in out.getvalue()
    assert "campaigns.send_campaign" not in codenames(MANAGER)


def test_sync_roles_gives_back_a_missing_permission():
    Group.objects.get(name=MANAGER).permissions.remove(
        Permission.objects.get(codename="send_campaign")
    )
    out = StringIO()

    call_command("sync_roles", stdout=out)

    assert "Manager: got campaigns.send_campaign" in out.getvalue()
    assert "campaigns.send_campaign" in codenames(MANAGER)
