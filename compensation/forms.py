"""HTML input for the compensation pages; operations do the deciding."""

from django import forms
from django.contrib.postgres.forms import SimpleArrayField
from django.utils import timezone

from compensation.models import ApproverRole, Channel, CompensationPolicy, Fault, ValueType
from compensation.operations.settings import POLICY_FIELDS
from incidents.models import Category, Severity, Source
from opsconsole.models import market_validator


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000, min_length=5, strip=True)


class NoteForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False, strip=True)


class BulkApproveForm(forms.Form):
    proposals = forms.TypedMultipleChoiceField(coerce=int, choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id is acceptable here: the operation checks each proposal.
        self.fields["proposals"].valid_value = lambda value: str(value).isdigit()


def _choices_field(choices, label: str, help_text: str = "") -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=label,
        help_text=help_text or "None ticked: any.",
    )


class PolicyForm(forms.ModelForm):
    categories = _choices_field(Category.choices, "Incident categories")
    severities = _choices_field(Severity.choices, "Severities")
    sources = _choices_field(Source.choices, "Sources")
    faults = _choices_field(Fault.choices, "Fault")
    products = SimpleArrayField(
        forms.CharField(max_length=100),
        required=False,
        help_text="Comma-separated product ids; empty: any product.",
    )
    markets = SimpleArrayField(
        forms.CharField(max_length=6, validators=[market_validator]),
        required=False,
        help_text="Comma-separated markets like AT-VIE; empty: any market.",
    )

    class Meta:
        model = CompensationPolicy
        fields = list(POLICY_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def clean(self):
        data = super().clean()
        if (
            data.get("value_type") == ValueType.PERCENTAGE_OF_AMOUNT
            and (data.get("value") or 0) > 100
        ):
            self.add_error("value", "A percentage is at most 100.")
        if data.get("channel") != Channel.MIXED:
            data["refund_percent"] = data.get("refund_percent") or 0
        return data


class LimitForm(forms.Form):
    role = forms.ChoiceField(choices=ApproverRole.choices, widget=forms.HiddenInput)
    max_eur = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        label="Maximum (EUR)",
        help_text="Empty: no limit.",
    )


class BudgetForm(forms.Form):
    market = forms.CharField(max_length=6, help_text="Like AT-VIE.")
    month = forms.DateField(
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        help_text="The month the budget is for.",
    )
    amount_eur = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, label="EUR")

    def clean_market(self) -> str:
        market = self.cleaned_data["market"].upper()
        market_validator(market)
        return market


class MonthForm(forms.Form):
    month = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
    )

    def chosen(self):
        month = self.cleaned_data.get("month") if self.is_valid() else None
        return (month or timezone.localdate()).replace(day=1)


class RateForm(forms.Form):
    currency = forms.CharField(max_length=3, min_length=3)
    eur_per_unit = forms.DecimalField(
        max_digits=14, decimal_places=6, min_value=0, label="EUR per unit"
    )

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()


class FraudFlagForm(forms.Form):
    user_ref = forms.CharField(max_length=64, label="User")
    reason = forms.CharField(max_length=300)


class CostForm(forms.Form):
    dimension = forms.ChoiceField(
        choices=[
            ("product", "Product"),
            ("market", "Market"),
            ("vendor", "Vendor"),
            ("incident_category", "Incident category"),
            ("month", "Month"),
        ],
        required=False,
        label="By",
    )
    months = forms.TypedChoiceField(
        choices=[(3, "3 months"), (6, "6 months"), (12, "12 months")],
        coerce=int,
        required=False,
        label="Over",
    )
