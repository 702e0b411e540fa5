"""Scenario life cycle: created from a template (or a blank canvas), checked, activated, paused,
resumed; blocks removed with the enrollments waiting at them.

Plain keyword-only functions: the admin and the tests call them; a mistake a person can make
is a `ValidationError` whose messages name the block concerned.
"""

from datetime import datetime
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from django_q.tasks import async_task

from campaigns.models import Campaign, SenderProfile
from campaigns.services import campaign_ready_problems
from contacts.models import ContactList, Tag
from scenarios.blocks import REGISTRY, handlers_load
from scenarios.models import Block, Enrollment, EnrollmentStep, Scenario, ScenarioTemplate
from scenarios.outcomes import BLOCK_REMOVED, LET_GO
from segments.models import Segment

ENTRY = "entry"
END = "end"
# Structural edits (blocks added or removed, branches changed) are allowed in these statuses.
EDITABLE_STATUSES = (Scenario.Status.DRAFT, Scenario.Status.PAUSED)


def _handlers() -> dict:
    if not REGISTRY:
        handlers_load()
    return REGISTRY


def scenario_sender_profile() -> SenderProfile | None:
    """The profile scenario campaigns send through: the reactivation account when there is
    one (reactivation traffic never touches the main account's reputation), else the main one."""
    for purpose in (SenderProfile.Purpose.REACTIVATION, SenderProfile.Purpose.MAIN):
        profile = SenderProfile.objects.filter(purpose=purpose).order_by("pk").first()
        if profile is not None:
            return profile
    return None


def _config_resolve(config: dict) -> dict:
    """A template's config names segments by slug; a scenario's by id."""
    config = dict(config or {})
    slug = config.pop("segment_slug", None)
    if slug is not None:
        config["segment"] = Segment.objects.filter(slug=slug).values_list("pk", flat=True).first()
    return config


def _graph_install(*, scenario: Scenario, graph: dict, created_by: AbstractBaseUser | None) -> None:
    profile = scenario_sender_profile()
    campaigns = {}
    for placeholder, spec in (graph.get("campaigns") or {}).items():
        campaigns[placeholder] = Campaign.objects.create(
            name=f"{scenario.name} – {spec.get('name') or placeholder}"[:200],
            kind=Campaign.Kind.SCENARIO,
            channel=spec.get("channel") or Campaign.Channel.EMAIL,
            status=Campaign.Status.DRAFT,
            sender_profile=profile,
            subject=spec.get("subject", ""),
            preheader=spec.get("preheader", ""),
            html_body=spec.get("html_body", ""),
            text_body=spec.get("text_body", ""),
            sms_text=spec.get("sms_text", ""),
            created_by=created_by,
        )
    blocks = []
    for position, spec in enumerate(graph.get("blocks") or []):
        config = _config_resolve(spec.get("config"))
        if spec["kind"] == "tag" and config.get("tag"):
            # The tag a template adds exists from the start (the activation check wants it).
            Tag.objects.get_or_create(name=config["tag"])
        blocks.append(
            Block(
                scenario=scenario,
                key=spec["key"],
                kind=spec["kind"],
                name=spec.get("name", ""),
                config=config,
                next=dict(spec.get("next") or {}),
                campaign=campaigns.get(spec.get("campaign") or ""),
                position=position,
            )
        )
    Block.objects.bulk_create(blocks)


@transaction.atomic
def scenario_create_from_template(
    *,
    template: ScenarioTemplate,
    name: str,
    contact_list: ContactList | None = None,
    created_by: AbstractBaseUser | None = None,
) -> Scenario:
    """A draft scenario with the template's blocks and one draft scenario campaign per
    placeholder. Steps:

    1. refuse a template an administrator has not enabled;
    2. create the scenario, then its campaigns (through the reactivation sender profile when
       there is one), then its blocks, segment slugs resolved to ids.
    """
    if not template.is_enabled:
        raise ValidationError(
            gettext("The template “%(name)s” is not enabled: ask an administrator to enable it.")
            % {"name": template.name}
        )
    scenario = Scenario.objects.create(
        name=name,
        template=template,
        description=template.description,
        contact_list=contact_list,
        created_by=created_by,
    )
    _graph_install(scenario=scenario, graph=template.graph or {}, created_by=created_by)
    return scenario


def _blank_graph() -> dict:
    """An entry block leading to an end block, named in the language of whoever creates it."""
    return {
        "blocks": [
            {
                "key": "entry",
                "kind": ENTRY,
                "name": gettext("Entry into the segment"),
                "config": {"segment_slug": "inactive", "reentry": "never", "reentry_days": 0},
                "next": {"next": "end"},
            },
            {
                "key": "end",
                "kind": END,
                "name": gettext("End"),
                "config": {"outcome": LET_GO},
                "next": {},
            },
        ],
        "campaigns": {},
    }


@transaction.atomic
def scenario_create_blank(
    *,
    name: str,
    contact_list: ContactList | None = None,
    created_by: AbstractBaseUser | None = None,
) -> Scenario:
    """A draft scenario with an entry block (the `inactive` segment) leading to an end block."""
    scenario = Scenario.objects.create(name=name, contact_list=contact_list, created_by=created_by)
    _graph_install(scenario=scenario, graph=_blank_graph(), created_by=created_by)
    return scenario


# The activation check ---------------------------------------------------------------------------


def _block_name(block: Block) -> str:
    return f"“{block.name or block.key}” ({block.key})"


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [
            f"{field}: {message}" if field != "__all__" else message
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return list(error.messages)


def scenario_check(scenario: Scenario) -> list[str]:
    """Why the scenario cannot be activated as it stands (empty when it can): one entry block,
    valid settings, every branch leading to an existing block, every block reached from the
    entry and able to reach an end, no cycle without a wait, every referenced segment, tag and
    block existing, every send block with a ready scenario campaign of its channel."""
    handlers = _handlers()
    blocks = list(scenario.blocks.select_related("campaign").order_by("position", "pk"))
    by_key = {block.key: block for block in blocks}
    problems: list[str] = []

    entries = [block for block in blocks if block.kind == ENTRY]
    if not entries:
        problems.append(gettext("The scenario has no entry block."))
    elif len(entries) > 1:
        problems.append(
            gettext("The scenario has %(count)d entry blocks (%(names)s); keep exactly one.")
            % {"count": len(entries), "names": ", ".join(_block_name(b) for b in entries)}
        )

    edges: dict[str, list[str]] = {}
    segment_ids: dict[int, Block] = {}
    tag_names: dict[str, Block] = {}
    for block in blocks:
        handler = handlers.get(block.kind)
        edges[block.key] = []
        if handler is None:
            problems.append(
                gettext("Block %(block)s: unknown kind “%(kind)s”.")
                % {"block": _block_name(block), "kind": block.kind}
            )
            continue
        try:
            config = handler.config_clean(block.config or {})
        except ValidationError as error:
            for message in _messages(error):
                problems.append(
                    gettext("Block %(block)s: %(problem)s")
                    % {"block": _block_name(block), "problem": message}
                )
            continue
        next_keys = block.next if isinstance(block.next, dict) else {}
        for branch in handler.branches_for(config):
            target = next_keys.get(branch) or ""
            if not target:
                problems.append(
                    gettext("Block %(block)s: the branch “%(branch)s” leads nowhere.")
                    % {"block": _block_name(block), "branch": branch}
                )
            elif target not in by_key:
                problems.append(
                    gettext(
                        "Block %(block)s: the branch “%(branch)s” leads to “%(target)s”, "
                        "which is not a block of this scenario."
                    )
                    % {"block": _block_name(block), "branch": branch, "target": target}
                )
            else:
                edges[block.key].append(target)
        references = handler.references(config) or {}
        for segment_id in references.get("segments", []):
            segment_ids.setdefault(segment_id, block)
        for tag in references.get("tags", []):
            tag_names.setdefault(tag, block)
        for key in references.get("blocks", []):
            if key not in by_key:
                problems.append(
                    gettext("Block %(block)s refers to the block “%(key)s”, which does not exist.")
                    % {"block": _block_name(block), "key": key}
                )
            elif not getattr(handlers.get(by_key[key].kind), "sends", ""):
                # Its clicks are looked for in the message that block sent.
                problems.append(
                    gettext("Block %(block)s waits for a click after “%(key)s”, not a send block.")
                    % {"block": _block_name(block), "key": key}
                )
        problems.extend(_send_problems(block, handler.sends))

    problems.extend(_reference_problems(segment_ids, tag_names))
    if len(entries) == 1:
        problems.extend(_path_problems(blocks, edges, entries[0], handlers))
    return problems


def _send_problems(block: Block, channel: str) -> list[str]:
    if not channel:
        return []
    name = _block_name(block)
    campaign = block.campaign
    if campaign is None:
        return [gettext("Block %(block)s has no campaign to send.") % {"block": name}]
    if campaign.channel != channel:
        return [
            gettext("Block %(block)s sends “%(campaign)s”, which is not an %(channel)s campaign.")
            % {"block": name, "campaign": campaign.name, "channel": channel}
        ]
    if campaign.kind != Campaign.Kind.SCENARIO:
        return [
            gettext("Block %(block)s sends “%(campaign)s”, which is not a scenario campaign.")
            % {"block": name, "campaign": campaign.name}
        ]
    return [
        gettext("Block %(block)s: the campaign “%(campaign)s” is not ready: %(problem)s")
        % {"block": name, "campaign": campaign.name, "problem": problem}
        for problem in campaign_ready_problems(campaign)
    ]


def _reference_problems(segment_ids: dict[int, Block], tag_names: dict[str, Block]) -> list[str]:
    problems = []
    known_segments = set(
        Segment.objects.filter(
            pk__in=[pk for pk in segment_ids if isinstance(pk, int)]
        ).values_list("pk", flat=True)
    )
    for segment_id, block in segment_ids.items():
        if segment_id not in known_segments:
            problems.append(
                gettext("Block %(block)s refers to a segment that does not exist (id %(id)s).")
                % {"block": _block_name(block), "id": segment_id}
            )
    known_tags = set(Tag.objects.filter(name__in=list(tag_names)).values_list("name", flat=True))
    for tag, block in tag_names.items():
        if tag not in known_tags:
            problems.append(
                gettext("Block %(block)s refers to the tag “%(tag)s”, which does not exist.")
                % {"block": _block_name(block), "tag": tag}
            )
    return problems


def _path_problems(
    blocks: list[Block], edges: dict[str, list[str]], entry: Block, handlers: dict
) -> list[str]:
    problems = []
    by_key = {block.key: block for block in blocks}

    reached = {entry.key}
    todo = [entry.key]
    while todo:
        for target in edges.get(todo.pop(), []):
            if target not in reached:
                reached.add(target)
                todo.append(target)
    for block in blocks:
        if block.key not in reached:
            problems.append(
                gettext(
                    "Block %(block)s is not reached from the entry block: connect it or remove it."
                )
                % {"block": _block_name(block)}
            )

    # Blocks from which some path reaches an end: walk the edges backwards from the ends.
    reverse: dict[str, list[str]] = {key: [] for key in by_key}
    for source, targets in edges.items():
        for target in targets:
            reverse[target].append(source)
    ending = {block.key for block in blocks if getattr(handlers.get(block.kind), "ends", False)}
    todo = list(ending)
    while todo:
        for source in reverse.get(todo.pop(), []):
            if source not in ending:
                ending.add(source)
                todo.append(source)
    for block in blocks:
        if block.key in reached and block.key not in ending and block.kind in handlers:
            problems.append(
                gettext("Block %(block)s: no path from here reaches an end block.")
                % {"block": _block_name(block)}
            )

    # A cycle must go through a block that always waits, else one tick would loop forever: a
    # "wait until" lets contacts straight through while its window is open, a wait for a click
    # once the click is there.
    waiting = {
        block.key for block in blocks if getattr(handlers.get(block.kind), "breaks_cycle", False)
    }
    for cycle in _cycles_without(edges, waiting):
        problems.append(
            gettext("Blocks %(blocks)s form a loop without a wait (for a duration) block.")
            % {"blocks": " → ".join(_block_name(by_key[key]) for key in cycle)}
        )
    return problems


def _cycles_without(edges: dict[str, list[str]], skipped: set[str]) -> list[list[str]]:
    """One cycle per strongly connected group of the graph without the `skipped` blocks."""
    nodes = [key for key in edges if key not in skipped]
    graph = {key: [t for t in edges[key] if t not in skipped] for key in nodes}
    cycles, visiting, done = [], [], set()

    def visit(key: str) -> None:
        visiting.append(key)
        for target in graph.get(key, []):
            if target in visiting:
                cycle = visiting[visiting.index(target) :]
                if not any(set(cycle) == set(seen) for seen in cycles):
                    cycles.append(cycle)
            elif target not in done:
                visit(target)
        visiting.pop()
        done.add(key)

    for key in nodes:
        if key not in done:
            visit(key)
    return cycles


# Status changes ---------------------------------------------------------------------------------


def _scenario_campaign_ids(scenario: Scenario) -> list[int]:
    return list(
        scenario.blocks.filter(campaign__isnull=False).values_list("campaign_id", flat=True)
    )


@transaction.atomic
def _members_enroll_queue(scenario: Scenario, *, now: datetime, since: datetime | None) -> None:
    """Once this transaction commits, a worker enrols the trigger segment's members (those who
    entered since `since`, when given): see `scenarios.enrollment.scenario_members_enroll`."""
    transaction.on_commit(
        partial(
            async_task,
            "scenarios.tasks.scenario_segment_members_enroll",
            scenario.pk,
            since.isoformat() if since else None,
            task_name=f"scenario-enroll-{scenario.pk}-{now.timestamp():.0f}",
        )
    )


@transaction.atomic
def scenario_activate(*, scenario: Scenario, now: datetime | None = None) -> Scenario:
    """Start a draft scenario. Steps:

    1. lock the scenario (a block edited meanwhile waits) and run the activation check: any
       failure raises `ValidationError` with all of them, and nothing changes;
    2. draft → active (a conditional update: a second click changes nothing);
    3. its campaigns start sending (they go to the enrolled contacts, block by block);
    4. unless staff chose only new entries, a worker enrols the contacts already in the
       trigger segment once this commits (one INSERT ... SELECT, however many they are; the
       scenario page shows when it is done and how many).
    """
    now = now or timezone.now()
    problems = scenario_check(Scenario.objects.select_for_update().get(pk=scenario.pk))
    if problems:
        raise ValidationError(problems)
    moved = Scenario.objects.filter(pk=scenario.pk, status=Scenario.Status.DRAFT).update(
        status=Scenario.Status.ACTIVE, activated_at=now, updated_at=now
    )
    if not moved:
        scenario.refresh_from_db(fields=["status"])
        raise ValidationError(
            gettext("Only a draft scenario can be activated (it is %(status)s).")
            % {"status": scenario.get_status_display()}
        )
    Campaign.objects.filter(
        pk__in=_scenario_campaign_ids(scenario),
        status__in=[Campaign.Status.DRAFT, Campaign.Status.PAUSED, Campaign.Status.SCHEDULED],
    ).update(status=Campaign.Status.SENDING, started_at=now, scheduled_at=now)
    if not scenario.only_new_entries:
        _members_enroll_queue(scenario, now=now, since=None)
    scenario.refresh_from_db()
    return scenario


@transaction.atomic
def scenario_pause(*, scenario: Scenario) -> Scenario:
    """Active → paused: the engine leaves its enrollments where they are, its campaigns pause."""
    now = timezone.now()
    moved = Scenario.objects.filter(pk=scenario.pk, status=Scenario.Status.ACTIVE).update(
        status=Scenario.Status.PAUSED, paused_at=now, updated_at=now
    )
    if not moved:
        scenario.refresh_from_db(fields=["status"])
        raise ValidationError(
            gettext("Only an active scenario can be paused (it is %(status)s).")
            % {"status": scenario.get_status_display()}
        )
    Campaign.objects.filter(
        pk__in=_scenario_campaign_ids(scenario), status=Campaign.Status.SENDING
    ).update(status=Campaign.Status.PAUSED, delivery_lease_until=None)
    scenario.refresh_from_db()
    return scenario


@transaction.atomic
def scenario_resume(*, scenario: Scenario, now: datetime | None = None) -> Scenario:
    """Paused → active, after the same check as activation (staff may have edited the graph
    meanwhile). Enrollments continue where they stood; the contacts who entered the trigger
    segment while it was paused are enrolled by a worker (nobody is enrolled twice)."""
    now = now or timezone.now()
    locked = Scenario.objects.select_for_update().get(pk=scenario.pk)
    problems = scenario_check(locked)
    if problems:
        raise ValidationError(problems)
    moved = Scenario.objects.filter(pk=scenario.pk, status=Scenario.Status.PAUSED).update(
        status=Scenario.Status.ACTIVE, updated_at=now
    )
    if not moved:
        scenario.refresh_from_db(fields=["status"])
        raise ValidationError(
            gettext("Only a paused scenario can be resumed (it is %(status)s).")
            % {"status": scenario.get_status_display()}
        )
    campaign_ids = _scenario_campaign_ids(scenario)
    # Campaigns added while paused start now; paused ones continue.
    Campaign.objects.filter(pk__in=campaign_ids, status=Campaign.Status.DRAFT).update(
        status=Campaign.Status.SENDING, started_at=now, scheduled_at=now
    )
    Campaign.objects.filter(pk__in=campaign_ids, status=Campaign.Status.PAUSED).update(
        status=Campaign.Status.SENDING
    )
    if locked.paused_at is not None:
        _members_enroll_queue(scenario, now=now, since=locked.paused_at)
    scenario.refresh_from_db()
    return scenario


def scenario_structure_editable(scenario: Scenario) -> bool:
    return scenario.pk is None or scenario.status in EDITABLE_STATUSES


@transaction.atomic
def block_remove(*, block: Block, now: datetime | None = None) -> int:
    """Delete a block of a draft or paused scenario. The open enrollments standing at it exit
    with the outcome "block removed", logged; returns how many."""
    now = now or timezone.now()
    scenario = Scenario.objects.select_for_update().get(pk=block.scenario_id)
    if not scenario_structure_editable(scenario):
        raise ValidationError(
            gettext("Pause the scenario “%(name)s” before removing a block.")
            % {"name": scenario.name}
        )
    standing = Enrollment.objects.filter(block=block, state__in=Enrollment.OPEN_STATES)
    # Locked: a tick that claimed them before the pause finishes first, then its step numbers
    # are the ones read here.
    rows = list(standing.select_for_update().order_by("pk").values_list("pk", "steps"))
    EnrollmentStep.objects.bulk_create(
        [
            EnrollmentStep(
                enrollment_id=pk,
                step=steps + 1,
                block=block,
                kind=block.kind,
                result=BLOCK_REMOVED,
                executed_at=now,
            )
            for pk, steps in rows
        ]
    )
    Enrollment.objects.filter(pk__in=[pk for pk, _ in rows]).update(
        state=Enrollment.State.EXITED,
        outcome=BLOCK_REMOVED,
        finished_at=now,
        wake_at=None,
        steps=F("steps") + 1,
    )
    block.delete()
    return len(rows)


def _scenario_campaign_create(
    *, scenario: Scenario, channel: str, name: str, created_by: AbstractBaseUser | None
) -> Campaign:
    return Campaign.objects.create(
        name=f"{scenario.name} – {name}"[:200],
        kind=Campaign.Kind.SCENARIO,
        channel=channel,
        status=Campaign.Status.DRAFT,
        sender_profile=scenario_sender_profile(),
        created_by=created_by,
    )


def block_campaign_choices(block: Block):
    """The campaigns a send block may send: scenario campaigns of its channel that belong to
    this scenario (another of its blocks sends them) or to none yet."""
    channel = _handlers()[block.kind].sends
    if not channel:
        return Campaign.objects.none()
    used_elsewhere = Block.objects.filter(campaign__isnull=False).exclude(
        scenario_id=block.scenario_id
    )
    return (
        Campaign.objects.filter(kind=Campaign.Kind.SCENARIO, channel=channel)
        .exclude(pk__in=used_elsewhere.values("campaign_id"))
        .order_by("name")
    )


def _unique_key(scenario: Scenario, base: str) -> str:
    taken = set(Block.objects.filter(scenario=scenario).values_list("key", flat=True))
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}-{number}"
    return key


@transaction.atomic
def block_add(
    *, scenario: Scenario, kind: str, name: str = "", created_by: AbstractBaseUser | None = None
) -> Block:
    """A new, unconnected block at the end of a draft or paused scenario; a send block comes
    with its own draft scenario campaign to write. Its settings start empty: the activation
    check lists what is missing until staff fill them in."""
    handler = _handlers().get(kind)
    if handler is None:
        raise ValidationError(gettext("Unknown block kind “%(kind)s”.") % {"kind": kind})
    scenario = Scenario.objects.select_for_update().get(pk=scenario.pk)
    if not scenario_structure_editable(scenario):
        raise ValidationError(
            gettext("Pause the scenario “%(name)s” before adding a block.")
            % {"name": scenario.name}
        )
    name = name.strip() or str(handler.label)
    last = scenario.blocks.order_by("-position").values_list("position", flat=True).first()
    campaign = None
    if handler.sends:
        campaign = _scenario_campaign_create(
            scenario=scenario, channel=handler.sends, name=name, created_by=created_by
        )
    return Block.objects.create(
        scenario=scenario,
        key=_unique_key(scenario, kind.replace("_", "-")),
        kind=kind,
        name=name[:200],
        config={},
        next={},
        campaign=campaign,
        position=(last or 0) + 1,
    )


@transaction.atomic
def block_update(
    *,
    block: Block,
    name: str,
    config: dict,
    next_blocks: dict[str, str],
    campaign: Campaign | None = None,
    position: int | None = None,
) -> Block:
    """Save a block's settings, branches and campaign. Steps:

    1. the handler checks the settings (a `ValidationError` lists every mistake; nothing is
       saved);
    2. each branch leads to another block of the scenario, or nowhere yet;
    3. while the scenario runs (active), only the name, the position and the settings may
       change, and only settings that keep the same branches: reconnecting blocks, adding a
       branch or changing the campaign needs it paused, so the engine never finds a path
       that changed under an enrollment;
    4. a tag the block adds is created with it (the activation check wants it to exist).
    """
    handler = _handlers()[block.kind]
    scenario = Scenario.objects.select_for_update().get(pk=block.scenario_id)
    block = Block.objects.select_for_update().get(pk=block.pk)
    config = handler.config_clean(config)
    branches = handler.branches_for(config)
    keys = set(scenario.blocks.exclude(pk=block.pk).values_list("key", flat=True))
    problems = []
    cleaned_next = {}
    for branch in branches:
        target = (next_blocks.get(branch) or "").strip()
        if target and target not in keys:
            problems.append(
                gettext(
                    "The branch “%(branch)s” leads to “%(target)s”, not a block of this scenario."
                )
                % {"branch": branch, "target": target}
            )
        cleaned_next[branch] = target
    if campaign is not None and not block_campaign_choices(block).filter(pk=campaign.pk).exists():
        problems.append(
            gettext("“%(campaign)s” is not a scenario campaign this block can send.")
            % {"campaign": campaign.name}
        )
    if not scenario_structure_editable(scenario):
        if branches != handler.branches_for(block.config or {}) or cleaned_next != {
            branch: (block.next or {}).get(branch, "") for branch in branches
        }:
            problems.append(
                gettext("Pause the scenario before adding branches or reconnecting blocks.")
            )
        if campaign != block.campaign:
            problems.append(gettext("Pause the scenario before changing the campaign it sends."))
    if problems:
        raise ValidationError(problems)
    if block.kind == "tag" and config.get("action") == "add":
        Tag.objects.get_or_create(name=config["tag"])
    block.name = name.strip()[:200]
    block.config = config
    block.next = cleaned_next
    if handler.sends:
        block.campaign = campaign
    if position is not None:
        block.position = position
    block.save()
    return block


def block_kind_choices() -> list[tuple[str, str]]:
    return [(kind, str(handler.label or kind)) for kind, handler in sorted(_handlers().items())]
