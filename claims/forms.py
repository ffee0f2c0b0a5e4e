from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from claims.hiding import MIN_MESSAGE_LENGTH
from claims.models import HideRequest
from claims.services import MAX_EVIDENCE_LINKS, MIN_STATEMENT_LENGTH


class EvidenceClaimForm(forms.Form):
    statement = forms.CharField(
        label="Who you are and why this record is yours",
        min_length=MIN_STATEMENT_LENGTH,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Curators read this. Mention your position, institution and papers.",
    )
    links = forms.CharField(
        label="Links (one per line)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Your homepage, a staff page, a publication list: pages that name you.",
    )

    def clean_links(self) -> list[str]:
        links = [line.strip() for line in self.cleaned_data["links"].splitlines() if line.strip()]
        if len(links) > MAX_EVIDENCE_LINKS:
            raise ValidationError(f"Give at most {MAX_EVIDENCE_LINKS} links.")
        validate = URLValidator(schemes=["http", "https"])
        # Every bad line at once, by its number among the lines given, so one round fixes all.
        bad = []
        for number, link in enumerate(links, start=1):
            try:
                validate(link)
            except ValidationError:
                bad.append(ValidationError(f"Line {number} is not a web address: {link}"))
        if bad:
            raise ValidationError(bad)
        return links


class NotMeForm(forms.Form):
    reason = forms.CharField(
        label="Why is this work not yours?",
        max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": "e.g. a different person with my name"}),
    )


class HideRequestForm(forms.Form):
    name = forms.CharField(label="Your name", max_length=200)
    email = forms.EmailField(
        label="Your email address", help_text="We email you when a curator decides."
    )
    scope = forms.ChoiceField(
        label="What do you ask for?",
        choices=HideRequest.Scope.choices,
        widget=forms.RadioSelect,
    )
    message = forms.CharField(
        label="Who you are and why",
        min_length=MIN_MESSAGE_LENGTH,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=(
            "Say whether this record describes you. Signed in with the record's ORCID iD, or "
            "with a confirmed address on its institution's domain, that counts as proof; "
            "otherwise give evidence (a staff page, a publication list) for the curator."
        ),
    )
