"""HTML input for founder actions, and the one-shot token that makes a form post count once."""

import hashlib
import json
import uuid
from collections.abc import Callable

from django import forms

from founder.models import (
    MAX_DURATION_MINUTES,
    MAX_THROTTLE_RPM,
    MIN_DURATION_MINUTES,
    MIN_REASON_LENGTH,
    MIN_THROTTLE_RPM,
    OverrideKind,
    ReasonCode,
)
from incidents.models import Severity
from opsconsole.idempotency import claim
from opsconsole.registry import Result
from opsconsole.web import form_errors_from

UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 24 * 60}


class OneShotForm(forms.Form):
    """A form whose post counts once: a token rendered into it claims an idempotency key, so a
    double click or a resubmitted page replays the first outcome instead of acting twice."""

    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("form_token", uuid.uuid4().hex)

    def submit_once(
        self, request, run: Callable[[], Result], done: Callable[..., tuple[str, str]]
    ) -> tuple[str, str] | None:
        """Run the operation once per token. `done(value)` gives (the URL to go to next, a
        message); a repeat of the post gets the same pair. None: refused, errors on the form."""
        values = {name: str(value) for name, value in self.cleaned_data.items()}
        digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
        token = values.pop("form_token")
        with claim(
            owner=f"user:{request.user.pk}", key=f"form:{token}", request_hash=digest
        ) as slot:
            if slot.mismatched:
                self.add_error(None, "This form was sent already with other values; reload it.")
                return None
            if slot.completed:
                return slot.row.response_body["location"], slot.row.response_body["message"]
            result = run()
            if not result.ok:
                slot.release()
                form_errors_from(result, self)
                return None
            location, message = done(result.value)
            slot.store(303, {"location": location, "message": message})
            return location, message


class ReasonFields(forms.Form):
    reason_code = forms.ChoiceField(
        label="Reason", choices=[("", "Choose a reason…"), *ReasonCode.choices]
    )
    reason = forms.CharField(
        label="Why",
        min_length=MIN_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"At least {MIN_REASON_LENGTH} characters; the tenant's record keeps it.",
    )


class DurationFields(forms.Form):
    duration = forms.IntegerField(
        label="Expires after", required=False, min_value=1, help_text="Empty: until reversed."
    )
    duration_unit = forms.ChoiceField(
        label="Unit",
        choices=[("minutes", "minutes"), ("hours", "hours"), ("days", "days")],
        initial="hours",
        widget=forms.Select(attrs={"aria-label": "Unit"}),
    )

    def clean(self):
        data = super().clean()
        amount = data.get("duration")
        if amount is None:
            data["duration_minutes"] = None
            return data
        minutes = amount * UNIT_MINUTES.get(data.get("duration_unit"), 1)
        if not MIN_DURATION_MINUTES <= minutes <= MAX_DURATION_MINUTES:
            self.add_error("duration", "From 5 minutes to 90 days.")
        data["duration_minutes"] = minutes
        return data


class FreezeForm(OneShotForm, ReasonFields, DurationFields):
    confirm_text = forms.CharField(label="Type the tenant's name to confirm")

    field_order = ["reason_code", "reason", "duration", "duration_unit", "confirm_text"]

    def __init__(self, *args, tenant, **kwargs):
        kwargs.setdefault("auto_id", "freeze-%s")
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["confirm_text"].help_text = f"Type {tenant.name} exactly."
        self.fields["confirm_text"].widget.attrs["autocomplete"] = "off"

    def clean_confirm_text(self) -> str:
        typed = self.cleaned_data["confirm_text"].strip()
        if typed != self.tenant.name:
            raise forms.ValidationError(f"Type {self.tenant.name} exactly to freeze it.")
        return typed


class ThrottleForm(OneShotForm, ReasonFields, DurationFields):
    throttle_rpm = forms.IntegerField(
        label="Requests per minute",
        min_value=MIN_THROTTLE_RPM,
        max_value=MAX_THROTTLE_RPM,
        help_text="1 to 1,000,000. The lowest of a tenant's throttles applies.",
    )

    field_order = ["throttle_rpm", "reason_code", "reason", "duration", "duration_unit"]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "throttle-%s")
        super().__init__(*args, **kwargs)


class OverrideForm(OneShotForm, ReasonFields, DurationFields):
    override_kind = forms.ChoiceField(
        label="Override", choices=OverrideKind.choices, widget=forms.RadioSelect
    )
    severity = forms.ChoiceField(
        label="Severity to force",
        choices=[("", "—"), *Severity.choices],
        required=False,
        help_text="For “Force severity”.",
    )

    field_order = ["override_kind", "severity", "reason_code", "reason", "duration"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["duration"].help_text = (
            "Required to suppress (the incident returns then); optional for a forced severity; "
            "not for a force-resolve."
        )


class ReverseForm(OneShotForm):
    reason = forms.CharField(
        label="Why reverse it",
        min_length=MIN_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"At least {MIN_REASON_LENGTH} characters.",
    )
