"""The form each block kind shows in the admin for its settings (`handlers_load` imports this
module too; it registers no kind).

A settings form only presents the config: `config()` turns its cleaned data into the dict the
handler's `config_clean` checks, so the rules live in one place, the handler.
"""

from django import forms


class BlockSettingsForm(forms.Form):
    """No settings: the base for kinds that have none (send blocks choose their campaign on
    the block itself)."""

    def __init__(self, *args, block, **kwargs):
        self.block = block
        kwargs.setdefault("initial", self.initial_from(dict(block.config or {})))
        super().__init__(*args, **kwargs)

    def initial_from(self, config: dict) -> dict:
        return config

    def config(self) -> dict:
        return dict(self.cleaned_data)


def number(label, *, minimum=None, maximum=None, required=True, help_text="") -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=minimum,
        max_value=maximum,
        required=required,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"style": "width: 7em"}),
    )
