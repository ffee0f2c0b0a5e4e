from __future__ import annotations

from django.urls import path

from claims import hide_views, views

urlpatterns = [
    path("researchers/<int:pk>/claim/", views.claim_start, name="claim_start"),
    path("researchers/<int:pk>/claim/orcid/", views.claim_orcid, name="claim_orcid"),
    path("researchers/<int:pk>/claim/email/", views.claim_email, name="claim_email"),
    path("researchers/<int:pk>/claim/evidence/", views.claim_evidence, name="claim_evidence"),
    path(
        "researchers/<int:pk>/hide-request/",
        hide_views.hide_request_new,
        name="hide_request_new",
    ),
    path("me/claims/", views.my_claims, name="my_claims"),
    path("claims/<int:claim_id>/withdraw/", views.withdraw, name="claim_withdraw"),
]
