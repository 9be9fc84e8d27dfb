"""HTML input for working incidents; the operations check again and have the last word."""

from django import forms

from incidents.operations.bulk import BULK_LIMIT
from incidents.selectors import ERROR_WINDOWS, assignable_people


class ResolveForm(forms.Form):
    note = forms.CharField(
        label="Resolution note",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What fixed it?"}),
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Why is it not resolved?"}),
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Nobody (unassign)"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_people()


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Note",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What do you know so far?"}),
    )


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[("acknowledge", "Acknowledge"), ("resolve", "Resolve")])
    ids = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), error_messages={"required": "Select at least one incident."}
    )
    note = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any ids may be sent; the operation checks that each exists and may be changed.
        submitted = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        self.fields["ids"].choices = [(value, value) for value in submitted]

    def clean_ids(self):
        ids = self.cleaned_data["ids"]
        if len(ids) > BULK_LIMIT:
            raise forms.ValidationError(f"At most {BULK_LIMIT} incidents per action.")
        return ids


class WindowForm(forms.Form):
    window = forms.ChoiceField(choices=[(key, key) for key in ERROR_WINDOWS], required=False)
