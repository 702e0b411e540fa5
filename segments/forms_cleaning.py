"""The "Clean the base" form: which contacts a cleaning concerns."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from segments.models import Segment
from segments.rules.validation import MAX_PERIOD
from segments.services import CleaningCriterion, CleaningKind

DEFAULT_DAYS = 180


class CleaningForm(forms.Form):
    criterion = forms.ChoiceField(
        label=_("Criterion"),
        choices=CleaningKind.choices,
        initial=CleaningKind.NEVER_OPENED,
        widget=forms.RadioSelect,
    )
    days = forms.IntegerField(
        label=_("N (days)"),
        min_value=1,
        max_value=MAX_PERIOD,
        required=False,
        initial=DEFAULT_DAYS,
        help_text=_(
            "No human open (or no click) within the last N days, among the contacts in the "
            "base for more than N days."
        ),
    )
    segment = forms.ModelChoiceField(
        label=_("Segment"),
        queryset=Segment.objects.order_by("name"),
        required=False,
        help_text=_("Its current members, as of its last evaluation."),
    )

    def clean(self) -> dict:
        data = super().clean()
        kind = data.get("criterion")
        if kind == CleaningKind.SEGMENT:
            if data.get("segment") is None and "segment" not in self.errors:
                self.add_error("segment", _("Choose a segment."))
        elif kind and data.get("days") is None and "days" not in self.errors:
            self.add_error("days", _("Give the number of days."))
        if not self.errors:
            try:
                self.chosen_criterion().rule()
            except ValidationError as error:
                raise ValidationError(error.messages) from None
        return data

    def chosen_criterion(self) -> CleaningCriterion:
        """The criterion chosen (call once the form is valid)."""
        data = self.cleaned_data
        if data["criterion"] == CleaningKind.SEGMENT:
            return CleaningCriterion(kind=CleaningKind.SEGMENT, segment=data["segment"])
        return CleaningCriterion(kind=data["criterion"], days=data["days"])
