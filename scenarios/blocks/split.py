import hashlib
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scenarios.blocks import BlockHandler, Move, block_kind
from scenarios.blocks._fields import ConfigErrors, integer
from scenarios.blocks._forms import BlockSettingsForm, number
from scenarios.outcomes import CONTROL

_BRANCH_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,15}$")


def enrollment_bucket(*, enrollment_id: int, block_id: int) -> int:
    """A stable number in [0, 10000) for an enrollment at a split: the same on every tick and
    worker, and independent from one split to the next (a second split inside branch "a" must
    not send everyone down its own first branch)."""
    digest = hashlib.md5(f"{block_id}:{enrollment_id}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") % 10000


def split_branch(*, weights: dict[str, int], control_percent: int, bucket: int) -> str:
    if bucket < control_percent * 100:
        return CONTROL
    total = sum(weights.values())
    # The rest of the bucket range, shared out by weight.
    point = (bucket - control_percent * 100) * total / (10000 - control_percent * 100)
    for name, weight in weights.items():
        if point < weight:
            return name
        point -= weight
    return next(name for name, weight in reversed(weights.items()) if weight > 0)


class SplitSettingsForm(BlockSettingsForm):
    weights = forms.CharField(
        label=gettext_lazy("Branches and weights"),
        help_text=gettext_lazy(
            "Each branch's name and weight, separated by commas, e.g. “a: 50, b: 50”; a new "
            "branch name adds a branch to connect below."
        ),
        widget=forms.TextInput(attrs={"size": 40}),
    )
    control_percent = number(
        gettext_lazy("Control group (%)"),
        minimum=0,
        maximum=99,
        required=False,
        help_text=gettext_lazy("This share receives nothing, to measure what the scenario adds."),
    )

    def initial_from(self, config: dict) -> dict:
        weights = config.get("weights") or {"a": 50, "b": 50}
        return {
            "weights": ", ".join(f"{name}: {weight}" for name, weight in weights.items()),
            "control_percent": config.get("control_percent") or 0,
        }

    def clean_weights(self) -> dict:
        weights = {}
        for part in self.cleaned_data["weights"].split(","):
            if not part.strip():
                continue
            name, colon, weight = part.partition(":")
            if not colon:
                raise ValidationError(
                    _("Write each branch as “name: weight”, e.g. “a: 50, b: 50”.")
                )
            weights[name.strip().lower()] = weight.strip()
        return weights

    def config(self) -> dict:
        return {
            "weights": self.cleaned_data["weights"],
            "control_percent": self.cleaned_data.get("control_percent") or 0,
        }


@block_kind
class SplitBlock(BlockHandler):
    """A/B split: each enrollment goes down one branch, by weight, the same one however often the
    block runs (the draw is a hash of the enrollment and block ids); an optional control group
    gets nothing."""

    kind = "split"
    label = gettext_lazy("A/B split")
    branches = ("a", "b")
    records_branch = True
    settings_form = SplitSettingsForm

    def branches_for(self, config: dict) -> tuple[str, ...]:
        weights = config.get("weights") or {"a": 50, "b": 50}
        names = tuple(weights) if isinstance(weights, dict) else self.branches
        control = config.get("control_percent") or 0
        return names + ((CONTROL,) if control and str(control) != "0" else ())

    def config_summary(self, config: dict) -> str:
        weights = config.get("weights") or {}
        summary = ", ".join(f"{name}: {weight}" for name, weight in weights.items())
        if config.get("control_percent"):
            summary += ", " + _("control group %(percent)s %%") % {
                "percent": config["control_percent"]
            }
        return summary

    def config_clean(self, config: dict) -> dict:
        errors = ConfigErrors()
        weights = config.get("weights", {"a": 50, "b": 50})
        cleaned: dict[str, int] = {}
        if not isinstance(weights, dict) or len(weights) < 2:
            errors.add(_("weights: give at least two branches, e.g. a: 50, b: 50."))
        else:
            for name, weight in weights.items():
                if not isinstance(name, str) or not _BRANCH_NAME.match(name) or name == CONTROL:
                    errors.add(
                        _("weights: %(name)r is not a valid branch name (lower-case letters).")
                        % {"name": name}
                    )
                    continue
                value = integer(
                    {"w": weight},
                    "w",
                    errors,
                    minimum=0,
                    maximum=1000,
                    label=_("weight of %s") % name,
                )
                if value is not None:
                    cleaned[name] = value
            if cleaned and not sum(cleaned.values()):
                errors.add(_("weights: at least one branch needs a weight above 0."))
        control = integer(
            config,
            "control_percent",
            errors,
            default=0,
            minimum=0,
            maximum=100,
            label=_("control group (%)"),
        )
        if control == 100:
            errors.add(_("control group (%): below 100, or nobody would be tested."))
        errors.raise_any()
        return {"weights": cleaned, "control_percent": control}

    def run(self, *, block, enrollments: list, now) -> dict[int, Move]:
        weights = {name: int(w) for name, w in block.config.get("weights", {}).items()}
        control = int(block.config.get("control_percent") or 0)
        moves = {}
        for enrollment in enrollments:
            branch = split_branch(
                weights=weights,
                control_percent=control,
                bucket=enrollment_bucket(enrollment_id=enrollment.pk, block_id=block.pk),
            )
            moves[enrollment.pk] = Move(branch)
        return moves
