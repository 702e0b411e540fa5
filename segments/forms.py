"""The segment form of the admin, with its rule editor.

The rule travels as JSON in a textarea (the "raw rule" view). `static/segments/rule_editor.js`
reads it, draws the rule as rows of conditions and groups a marketer can edit, and writes the
JSON back on every change; the catalogue of fields and operators comes from
`segments.rules.catalogue_for_editor`, so the editor offers exactly what the validation accepts.
"""

import json
from typing import Any

from django import forms
from django.forms.fields import InvalidJSONInput
from django.utils.translation import gettext_lazy as _

from contacts.models import ContactList, LeadSource, Tag
from segments.models import Segment, default_rule
from segments.rules import catalogue_for_editor, rule_clean

# The editor's own words (buttons, hints), translated on the server and passed with the
# catalogue: the page needs no JavaScript translation catalogue.
EDITOR_LABELS = {
    "add_condition": _("Add condition"),
    "add_group": _("Add group"),
    "remove": _("Remove"),
    "remove_group": _("Remove group"),
    "match_suffix": _("of these conditions:"),
    "empty_rule": _("No condition yet: every contact matches. Add a condition."),
    "empty_group": _("This group is empty: add a condition or remove it."),
    "field": _("Field"),
    "operator": _("Operator"),
    "value": _("Value"),
    "unit": _("Unit"),
    "attribute_key": _("Attribute name"),
    "attribute_value": _("Text"),
    "window_ever": _("ever"),
    "window_last": _("in the last"),
    "include_machine": _("include machine opens/clicks"),
    "unknown_field": _("unknown field: %(field)s"),
    "missing_option": _("#%(id)s (no longer exists)"),
    "invalid_raw": _(
        "The raw rule below is not a valid group of conditions; correct it there to get the "
        "editor back."
    ),
    "preview": _("Preview"),
    "preview_loading": _("Counting…"),
    "preview_failed": _("The preview failed; try again."),
    "preview_count_one": _("1 contact matches this rule now."),
    "preview_count_many": _("%(count)s contacts match this rule now."),
    "preview_sample": _("Sample (newest contacts)"),
    "preview_by_source": _("By lead source"),
    "preview_no_source": _("(no lead source)"),
    "preview_share": _("share"),
    "email": _("e-mail"),
    "name": _("name"),
    "source": _("lead source"),
    "status": _("e-mail status"),
    "contacts": _("contacts"),
}


def rule_editor_catalogue(*, segment_id: int | None) -> dict:
    """The editor's catalogue, with the tags, lead sources, lists and other segments to pick.

    The segment being edited is left out of the segments: a rule may not use its own segment.
    """
    segments = Segment.objects.order_by("name")
    if segment_id is not None:
        segments = segments.exclude(pk=segment_id)
    options = {
        "tag": Tag.objects.order_by("name"),
        "lead_source": LeadSource.objects.order_by("name"),
        "list": ContactList.objects.order_by("name"),
        "segment": segments,
    }
    catalogue = catalogue_for_editor(
        relation_options={
            relation: list(queryset.values_list("pk", "name"))
            for relation, queryset in options.items()
        }
    )
    catalogue["labels"] = {name: str(label) for name, label in EDITOR_LABELS.items()}
    return catalogue


class RuleEditorWidget(forms.Textarea):
    """The rule's JSON textarea, with the editor drawn over it and the live preview below."""

    template_name = "segments/widgets/rule_editor.html"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs={"rows": 12, "cols": 80, "spellcheck": "false", **(attrs or {})})
        self.catalogue: dict = {}
        self.preview_url = ""
        self.segment_id: int | None = None

    class Media:
        css = {"all": ("segments/rule_editor.css",)}
        js = ("segments/rule_editor.js",)

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        widget_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        context["widget"].update(
            catalogue=self.catalogue,
            catalogue_id=f"{widget_id}_catalogue",
            preview_url=self.preview_url,
            segment_id=self.segment_id or "",
        )
        return context


class RuleField(forms.JSONField):
    """A rule as JSON, shown indented in the raw view."""

    widget = RuleEditorWidget

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2)


class SegmentAdminForm(forms.ModelForm):
    rule = RuleField(
        label=_("rule"),
        initial=default_rule,
        help_text=_(
            "Build the rule with the rows above; the preview shows who matches before you save."
        ),
    )

    # Where the editor asks for its live preview; the admin sets it (see SegmentAdmin.get_form).
    preview_url = ""

    class Meta:
        model = Segment
        fields = ("name", "slug", "description", "rule", "is_active", "evaluation_interval_hours")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "rule" in self.fields:
            widget = self.fields["rule"].widget
            widget.catalogue = rule_editor_catalogue(segment_id=self.instance.pk)
            widget.preview_url = self.preview_url
            widget.segment_id = self.instance.pk

    def clean_rule(self) -> dict:
        # The canonical rule is what gets saved: only the keys each condition uses.
        return rule_clean(self.cleaned_data.get("rule"), segment_id=self.instance.pk)
