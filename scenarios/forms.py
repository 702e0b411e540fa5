"""Forms of the scenario admin: creating a scenario from a template, and a block's row in the
scenario's block list (settings and branches as JSON, checked by the block's handler)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from contacts.models import ContactList
from scenarios.models import Block
from scenarios.services import block_kind_choices


class ScenarioCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    contact_list = forms.ModelChoiceField(
        label=_("Contact base"),
        queryset=ContactList.objects.order_by("name"),
        required=False,
        empty_label=_("All contacts"),
        help_text=_("The scenario only enrols contacts of this list; empty: all contacts."),
    )


class BlockForm(forms.ModelForm):
    kind = forms.ChoiceField(label=_("kind"), choices=())

    class Meta:
        model = Block
        fields = ("key", "kind", "name", "config", "next", "campaign", "position")
        widgets = {
            "config": forms.Textarea(attrs={"rows": 3, "cols": 40}),
            "next": forms.Textarea(attrs={"rows": 3, "cols": 28}),
            "name": forms.TextInput(attrs={"size": 24}),
            "key": forms.TextInput(attrs={"size": 14}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = block_kind_choices()
        current = self.initial.get("kind") or getattr(self.instance, "kind", "")
        if current and current not in dict(choices):
            choices.append((current, current))
        self.fields["kind"].choices = [("", "---------"), *choices]
        if "campaign" in self.fields:
            self.fields["campaign"].queryset = Campaign.objects.filter(
                kind=Campaign.Kind.SCENARIO
            ).order_by("name")

    def clean_next(self):
        value = self.cleaned_data.get("next") or {}
        if not isinstance(value, dict) or not all(
            isinstance(branch, str) and isinstance(target, str) for branch, target in value.items()
        ):
            raise ValidationError(
                gettext('Give the next blocks as {"branch": "block key"}, e.g. {"next": "end"}.')
            )
        return value

    def clean(self):
        cleaned = super().clean()
        from scenarios.blocks import handler_for

        kind, config = cleaned.get("kind"), cleaned.get("config")
        if kind and isinstance(config, dict):
            try:
                cleaned["config"] = handler_for(kind).config_clean(config)
            except ValidationError as error:
                self.add_error("config", error.messages)
        elif config is not None and not isinstance(config, dict):
            self.add_error("config", gettext("Give the settings as a JSON object."))
        return cleaned
