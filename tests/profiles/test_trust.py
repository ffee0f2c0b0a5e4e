from __future__ import annotations

import pytest

from profiles.trust import TrustInputs, band_for, compute_trust

BASE = TrustInputs(
    verification_level=1,
    identified_works=0,
    close_collaborators=0,
    verified_close_collaborators=0,
    has_affiliation=False,
    has_summary=False,
    has_topics=False,
    has_orcid=False,
)


def trust(**changes):
    return compute_trust(TrustInputs(**{**BASE.__dict__, **changes}))


@pytest.mark.parametrize(("level", "points"), [(0, 0), (1, 10), (2, 22), (3, 30)])
def test_identity_points_follow_the_verification_level(level, points):
    assert trust(verification_level=level).components["identity"]["points"] == points


def test_record_is_log_scaled_and_capped():
    points = [
        trust(identified_works=n).components["record"]["points"] for n in (0, 1, 7, 100, 5000)
    ]
    assert points[0] == 0
    assert points == sorted(points)
    assert points[2] - points[1] > (points[3] - points[2]) / 10  # early works weigh most
    assert points[3] == points[4] == 30


def test_network_weights_verified_collaborators_more():
    plain = trust(close_collaborators=4).components["network"]["points"]
    verified = trust(close_collaborators=4, verified_close_collaborators=4)
    assert verified.components["network"]["points"] > plain
    assert trust(close_collaborators=10_000).components["network"]["points"] == 20


def test_verified_count_cannot_exceed_close_count():
    capped = trust(close_collaborators=2, verified_close_collaborators=50)
    assert (
        capped.components["network"]["points"]
        == trust(close_collaborators=2, verified_close_collaborators=2).components["network"][
            "points"
        ]
    )


def test_completeness_counts_each_field_once():
    assert trust().components["completeness"]["points"] == 0
    full = trust(has_affiliation=True, has_summary=True, has_topics=True, has_orcid=True)
    assert full.components["completeness"]["points"] == 20
    assert "affiliation, summary, topics, ORCID" in full.components["completeness"]["why"]


def test_score_is_the_sum_and_bounded():
    result = trust(
        verification_level=3,
        identified_works=1000,
        close_collaborators=1000,
        verified_close_collaborators=1000,
        has_affiliation=True,
        has_summary=True,
        has_topics=True,
        has_orcid=True,
    )
    assert result.score == 100
    assert result.band == "Highly trusted"
    assert sum(c["points"] for c in result.components.values()) == result.score


def test_bare_name_is_new():
    result = trust(verification_level=0)
    assert (result.score, result.band) == (0, "New")


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "New"),
        (19, "New"),
        (20, "Emerging"),
        (39, "Emerging"),
        (40, "Established"),
        (59, "Established"),
        (60, "Trusted"),
        (79, "Trusted"),
        (80, "Highly trusted"),
        (100, "Highly trusted"),
    ],
)
def test_bands(score, band):
    assert band_for(score) == band


def test_reference_profile_shape_is_emerging_or_better():
    # Seed profile shape: L1, 7 arXiv works, topics, no ORCID/affiliation/bio.
    result = trust(identified_works=7, close_collaborators=4, has_topics=True)
    assert result.band in ("Emerging", "Established")


def test_identity_says_how_an_owned_record_was_claimed():
    def why(**changes) -> str:
        return str(trust(**changes).components["identity"]["why"])

    assert why(verification_level=1) == "Verification level L1"
    assert why(verification_level=2, claim_method="email_domain") == (
        "Verification level L2, claimed via institutional email"
    )
    assert why(verification_level=2, claim_method="email_domain", claim_reviewed=True) == (
        "Verification level L2, claimed via institutional email (approved by a curator)"
    )
    assert why(verification_level=3, claim_method="orcid") == (
        "Verification level L3, claimed through an ORCID sign-in"
    )
    # The points do not change with the method: the level carries them.
    assert (
        trust(verification_level=2, claim_method="email_domain").score
        == trust(verification_level=2, claim_method="evidence", claim_reviewed=True).score
    )
