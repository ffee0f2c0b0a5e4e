from __future__ import annotations

from django import forms

from bzpeer.mail import refuse_line_breaks
from profiles.models import CollaborationKind, FollowersVisibility
from profiles.services import SUMMARY_MAX_LENGTH

# The session key where a summary that failed to save waits for the profile page after a
# plain form post (the redirect would otherwise lose what was typed).
SUMMARY_DRAFT_KEY = "owner_summary_draft"


class SummaryForm(forms.Form):
    summary = forms.CharField(
        required=False, max_length=SUMMARY_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )


class CollaborationForm(forms.Form):
    open_to_collaborate = forms.BooleanField(required=False)
    kinds = forms.MultipleChoiceField(
        required=False,
        choices=CollaborationKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    open_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class InvitationForm(forms.Form):
    subject = forms.CharField(max_length=200, validators=[refuse_line_breaks])
    message = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 6}))


class VisibilityForm(forms.Form):
    followers_visibility = forms.ChoiceField(choices=FollowersVisibility.choices)
    in_suggestions = forms.BooleanField(required=False)
    open_visible_to_followers = forms.BooleanField(required=False)
    accepts_invitations = forms.BooleanField(required=False)
