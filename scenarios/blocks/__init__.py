"""Block kinds: one small handler each, registered by kind. Adding a kind touches one place:
a module here with a `BlockHandler` subclass decorated with `@block_kind`.

A handler runs a block for a batch of enrollments standing at it (set-based: one or a few
queries for the whole batch) and says, for each, what happened: a `Move` to a branch, a hold
until a time, or the end of the scenario. The engine (`scenarios.engine`) writes the log and
moves the enrollments, in the same transaction as whatever the handler wrote.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Q

NEXT = "next"


@dataclass(frozen=True)
class Move:
    # The branch taken (a key of the block's `next`); "" when the enrollment holds here.
    branch: str = NEXT
    # Holding: until when (None: until something wakes it, which no block does without one).
    wake_at: datetime | None = None
    # Ending the scenario: the outcome label ("reactivated", "let go", "unsubscribed"...).
    outcome: str = ""
    detail: dict = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        return not self.branch and not self.outcome


class BlockHandler:
    kind: str = ""
    label = ""
    # The branches it leads to, in display order.
    branches: tuple[str, ...] = (NEXT,)
    # Whether it can hold an enrollment over time.
    waits = False
    # Whether it holds every enrollment for some time, always (a cycle must go through one).
    breaks_cycle = False
    # Whether it ends the scenario.
    ends = False
    # Whether it sends a campaign (then the block's `campaign` must be set and ready).
    sends: str = ""  # "", "email" or "sms"
    # Whether the branch it takes is the enrollment's A/B branch (stored on `Enrollment.branch`).
    records_branch = False
    # The admin form of its settings (a `_forms.BlockSettingsForm`); None: it has none.
    settings_form: type | None = None

    def branches_for(self, config: dict) -> tuple[str, ...]:
        return self.branches

    def settings_form_class(self) -> type:
        from scenarios.blocks._forms import BlockSettingsForm

        return self.settings_form or BlockSettingsForm

    def config_summary(self, config: dict) -> str:
        """The settings in a few words, for the block list."""
        return ", ".join(f"{name}: {value}" for name, value in (config or {}).items())

    def config_clean(self, config: dict) -> dict:
        """The canonical config; raises `ValidationError` naming each mistake."""
        return dict(config or {})

    def references(self, config: dict) -> dict[str, list]:
        """What the config points at, for the activation check: {"segments": [ids],
        "blocks": [keys], "tags": [names]}."""
        return {}

    def wake_condition(self, block) -> Q | None:
        """A filter on `Enrollment` selecting those holding at `block` that something (a click)
        lets go before their `wake_at`; the engine wakes them with one UPDATE per block."""
        return None

    def run(self, *, block, enrollments: list, now: datetime) -> dict[int, Move]:
        """Run `block` for `enrollments` (all standing at it) and return each one's move.

        `enrollment.state == "waiting"` means it held here and its time has come (or something
        woke it); "active" means it just arrived."""
        raise NotImplementedError


REGISTRY: dict[str, BlockHandler] = {}


def block_kind(cls: type[BlockHandler]) -> type[BlockHandler]:
    if not cls.kind or cls.kind in REGISTRY:
        raise ValueError(f"block kind {cls.kind!r} is missing or registered twice")
    REGISTRY[cls.kind] = cls()
    return cls


def handler_for(kind: str) -> BlockHandler:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise ValidationError(f"unknown block kind: {kind}") from None


def handlers_load() -> None:
    """Import every kind module (each registers itself)."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
