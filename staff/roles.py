"""The staff roles (Marketer, Manager, Administrator) as Django groups, defined by rules.

A role is a list of grants ("these actions on these models of this app", a model list of
`ALL_MODELS` meaning every model the app has when the roles are synced) and named extra
permissions. Rules rather than fixed codename lists, so that a model added later (the sign-up
forms, the dashboard) falls into the roles the next time `roles_sync` runs: from the
`staff` data migration, after every `migrate` (see `staff.apps`) and from
`manage.py sync_roles`.

The three groups are owned by this module: `roles_sync` sets their permissions to exactly what
the rules give, undoing hand edits. Exceptions belong in other groups or on the user.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

ALL_MODELS = "*"
VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"

MARKETER, MANAGER, ADMINISTRATOR = "Marketer", "Manager", "Administrator"

# The apps marketing staff read in full. Sign-ups and the dashboard are listed before they
# have models: a grant on an app without models gives nothing.
MARKETING_APPS = ("contacts", "segments", "campaigns", "scenarios", "signups", "dashboard")


@dataclass(frozen=True)
class Grant:
    """`actions` (view, add, change, delete) on `models` of the app `app_label`."""

    app_label: str
    models: tuple[str, ...] | str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Role:
    name: str
    grants: tuple[Grant, ...] = ()
    # Custom permissions, as "app_label.codename".
    extra: tuple[str, ...] = ()
    # Every permission of every app: the Administrator.
    everything: bool = False
    includes: tuple["Role", ...] = field(default=())

    def all_grants(self) -> tuple[Grant, ...]:
        inherited = tuple(grant for role in self.includes for grant in role.all_grants())
        return inherited + self.grants

    def all_extra(self) -> tuple[str, ...]:
        inherited = tuple(name for role in self.includes for name in role.all_extra())
        return inherited + self.extra


# Contacts, lists, imports, segments; campaigns and scenarios as drafts. Never sends, activates,
# cleans or deletes in bulk; never sees sender secrets.
MARKETER_ROLE = Role(
    name=MARKETER,
    grants=(
        *(Grant(app, ALL_MODELS, (VIEW,)) for app in MARKETING_APPS),
        # Who changed what: read-only for everybody on staff.
        Grant("auditlog", ALL_MODELS, (VIEW,)),
        # Importing contacts needs add and change on contacts (django-import-export).
        Grant(
            "contacts",
            ("contact", "contactlist", "listmembership", "tag", "leadsource"),
            (ADD, CHANGE),
        ),
        Grant("segments", ("segment",), (ADD, CHANGE)),
        # The campaign admin refuses to change or delete a campaign once it left the draft
        # status, so these rights cover drafts only.
        Grant("campaigns", ("campaign",), (ADD, CHANGE, DELETE)),
        # Blocks are edited only while their scenario is a draft or paused (see the admin);
        # removing one is part of editing a draft.
        Grant("scenarios", ("scenario", "block"), (ADD, CHANGE)),
        Grant("scenarios", ("block",), (DELETE,)),
        Grant("signups", ("signupform",), (ADD, CHANGE)),
    ),
    # The generic channel's audience, as a CSV for the team running that channel.
    extra=("scenarios.export_genericchannelentry",),
)

# A Marketer who also sends campaigns, activates scenarios, cleans the base (and reverts
# cleanings), enables "More inspiration" templates and deletes marketing data.
MANAGER_ROLE = Role(
    name=MANAGER,
    includes=(MARKETER_ROLE,),
    grants=(
        # Cleaning also needs contacts.change_contact, which Marketers already have.
        Grant("segments", ("cleaning",), (ADD, CHANGE)),
        Grant(
            "contacts",
            ("contact", "contactlist", "listmembership", "tag", "leadsource", "importjob"),
            (DELETE,),
        ),
        Grant("segments", ("segment",), (DELETE,)),
        Grant("scenarios", ("scenario",), (DELETE,)),
        Grant("signups", ("signupform",), (DELETE,)),
    ),
    extra=(
        "campaigns.send_campaign",
        "scenarios.activate_scenario",
        "scenarios.enable_scenariotemplate",
    ),
)

# Everything: users and groups, sender profiles and their secrets, policies, tasks.
ADMINISTRATOR_ROLE = Role(
    name=ADMINISTRATOR,
    everything=True,
)

ROLES = (MARKETER_ROLE, MANAGER_ROLE, ADMINISTRATOR_ROLE)


@dataclass(frozen=True)
class RoleSync:
    """What `roles_sync` did to one group."""

    name: str
    created: bool
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.created or bool(self.added or self.removed)


def role_permission_ids(role: Role, *, permissions: Iterable[tuple[int, str, str, str]]) -> set:
    """The ids of the permissions `role` gives, among `permissions` given as
    (id, app_label, model, codename) rows."""
    rows = list(permissions)
    if role.everything:
        return {pk for pk, *_rest in rows}
    wanted = set()
    for grant in role.all_grants():
        for action in grant.actions:
            for pk, app_label, model, codename in rows:
                if app_label != grant.app_label or codename != f"{action}_{model}":
                    continue
                if grant.models == ALL_MODELS or model in grant.models:
                    wanted.add(pk)
    extra = set(role.all_extra())
    wanted |= {pk for pk, app_label, _model, codename in rows if f"{app_label}.{codename}" in extra}
    return wanted


def roles_sync(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS, dry_run: bool = False):
    """Create the role groups if missing and set each one's permissions to its rules.

    Works with the project's models or a migration's historical ones (`apps`). Idempotent:
    a second run changes nothing. Returns a `RoleSync` per role.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    rows = list(
        Permission.objects.using(using).values_list(
            "pk", "content_type__app_label", "content_type__model", "codename"
        )
    )
    labels = {pk: f"{app_label}.{codename}" for pk, app_label, _model, codename in rows}
    results = []
    for role in ROLES:
        group = Group.objects.using(using).filter(name=role.name).first()
        created = group is None
        current = set() if created else set(group.permissions.values_list("pk", flat=True))
        wanted = role_permission_ids(role, permissions=rows)
        if not dry_run:
            if created:
                group = Group.objects.using(using).create(name=role.name)
            if wanted != current:
                group.permissions.set(wanted)
        results.append(
            RoleSync(
                name=role.name,
                created=created,
                added=tuple(sorted(labels[pk] for pk in wanted - current)),
                removed=tuple(sorted(labels.get(pk, str(pk)) for pk in current - wanted)),
            )
        )
    return results


def permissions_create(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the permissions (and content types) of every model now, not at the end of
    `migrate` (where Django's post_migrate handlers create them): a migration that gives
    permissions to groups needs them to exist."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # Historical app configs have no models module: the creators skip those apps.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        try:
            create_permissions(app_config, verbosity=0, using=using, apps=apps)
        finally:
            app_config.models_module = models_module
