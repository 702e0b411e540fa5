"""Forms of the scenario admin: creating a scenario from a template, adding a block, and a
block's page (name, campaign and branches here; its settings in its kind's own form)."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from contacts.models import ContactList
from scenarios.blocks import handler_for
from scenarios.models import Block
from scenarios.services import block_campaign_choices, block_kind_choices


class ScenarioCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    contact_list = forms.ModelChoiceField(
        label=_("Contact base"),
        queryset=ContactList.objects.order_by("name"),
        required=False,
        empty_label=_("All contacts"),
        help_text=_("The scenario only enrols contacts of this list; empty: all contacts."),
    )


class BlockAddForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=())
    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        required=False,
        help_text=_("Shown in the flow; empty: the kind's name."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = block_kind_choices()


class BlockForm(forms.Form):
    """A block's name, position, campaign (send blocks) and branch targets; its settings have
    their own form, chosen by kind (see `scenarios.blocks._forms`)."""

    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    position = forms.IntegerField(
        label=_("Position"),
        min_value=0,
        max_value=32767,
        help_text=_("Order in the block list."),
        widget=forms.NumberInput(attrs={"style": "width: 6em"}),
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.none(),
        required=False,
        help_text=_("The scenario campaign this block sends."),
    )

    def __init__(
        self, *args, block: Block, branches: tuple[str, ...], structure_editable: bool, **kwargs
    ):
        next_blocks = block.next if isinstance(block.next, dict) else {}
        kwargs.setdefault(
            "initial",
            {
                "name": block.name,
                "position": block.position,
                "campaign": block.campaign_id,
                **{f"next__{branch}": next_blocks.get(branch, "") for branch in branches},
            },
        )
        super().__init__(*args, **kwargs)
        self.branches = branches
        if handler_for(block.kind).sends:
            self.fields["campaign"].queryset = block_campaign_choices(block)
            self.fields["campaign"].disabled = not structure_editable
        else:
            del self.fields["campaign"]
        others = Block.objects.filter(scenario_id=block.scenario_id).exclude(pk=block.pk)
        targets = [("", gettext("— not connected —"))] + [
            (other.key, f"{other.name or other.key} ({other.key})")
            for other in others.order_by("position", "pk")
        ]
        for branch in branches:
            self.fields[f"next__{branch}"] = forms.ChoiceField(
                label=branch_label(branch),
                choices=targets,
                required=False,
                disabled=not structure_editable,
            )

    def next_blocks(self) -> dict[str, str]:
        return {branch: self.cleaned_data.get(f"next__{branch}") or "" for branch in self.branches}

    def branch_fields(self):
        return [self[f"next__{branch}"] for branch in self.branches]


def branch_label(branch: str) -> str:
    """How a branch reads in the admin: the usual names translated, others as typed."""
    labels = {
        "next": gettext("Then"),
        "yes": gettext("Yes"),
        "no": gettext("No"),
        "clicked": gettext("Clicked"),
        "timeout": gettext("No click (timeout)"),
        "control": gettext("Control group"),
    }
    return labels.get(branch) or gettext("Branch “%(name)s”") % {"name": branch}
