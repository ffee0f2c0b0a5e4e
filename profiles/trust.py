"""The trust score: one pure function, so anyone can read (and test) why a score is what it is.

1. identity: the verification level (L0 0, L1 10, L2 22, L3 30 points); its reason also
   says how an owned record was claimed (ORCID sign-in, institutional email, evidence).
2. scholarly record: works that carry a DOI or arXiv id, log-scaled so the first few count
   most (30 points at 100 identified works).
3. network: close collaborators, a verified (claimed) one counting three times, log-scaled
   (20 points at 50 weighted collaborators).
4. completeness: 5 points each for an affiliation, an own summary, topics and an ORCID.
Bands: each TrustBand in turn covers BAND_WIDTH points: 0-19 New, 20-39 Emerging, 40-59
Established, 60-79 Trusted, 80-100 Highly trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bzpeer.utils import counted
from profiles.models import TrustBand

IDENTITY_POINTS = {0: 0, 1: 10, 2: 22, 3: 30}
RECORD_MAX, RECORD_SATURATION = 30, 100
NETWORK_MAX, NETWORK_SATURATION = 20, 50
VERIFIED_COLLABORATOR_WEIGHT = 3
COMPLETENESS_POINTS = 5

BAND_WIDTH = 20


@dataclass(frozen=True)
class TrustInputs:
    verification_level: int
    identified_works: int
    close_collaborators: int
    verified_close_collaborators: int
    has_affiliation: bool
    has_summary: bool
    has_topics: bool
    has_orcid: bool
    # How the owner's approved claim was made (a claims Method value), "" when unclaimed,
    # and whether a curator approved it (an institutional-email claim may have had none).
    claim_method: str = ""
    claim_reviewed: bool = False


# Said on the public page: an institutional-email claim may have had no human review.
CLAIM_METHOD_WHY = {
    "orcid": "claimed through an ORCID sign-in",
    "email_domain": "claimed via institutional email",
    "evidence": "claimed with evidence a curator reviewed",
}


@dataclass(frozen=True)
class TrustResult:
    score: int
    band: str
    components: dict[str, dict[str, int | str]]


def _log_scaled(value: int, saturation: int, maximum: int) -> int:
    if value <= 0:
        return 0
    fraction = math.log1p(value) / math.log1p(saturation)
    return round(maximum * min(1.0, fraction))


def band_for(score: int) -> str:
    """The TrustBand (in its declared order, lowest first) whose BAND_WIDTH points hold
    `score`; the last band takes everything above."""
    bands = list(TrustBand)
    return bands[min(max(score, 0) // BAND_WIDTH, len(bands) - 1)].value


def compute_trust(inputs: TrustInputs) -> TrustResult:
    identity = IDENTITY_POINTS.get(inputs.verification_level, 0)
    record = _log_scaled(inputs.identified_works, RECORD_SATURATION, RECORD_MAX)
    verified = min(inputs.verified_close_collaborators, inputs.close_collaborators)
    weighted = (inputs.close_collaborators - verified) + verified * VERIFIED_COLLABORATOR_WEIGHT
    network = _log_scaled(weighted, NETWORK_SATURATION, NETWORK_MAX)
    filled = [
        inputs.has_affiliation,
        inputs.has_summary,
        inputs.has_topics,
        inputs.has_orcid,
    ]
    completeness = COMPLETENESS_POINTS * sum(filled)
    score = max(0, min(100, identity + record + network + completeness))
    components: dict[str, dict[str, int | str]] = {
        "identity": {
            "points": identity,
            "max": max(IDENTITY_POINTS.values()),
            "why": ", ".join(
                part
                for part in [
                    f"Verification level L{inputs.verification_level}",
                    CLAIM_METHOD_WHY.get(inputs.claim_method, "")
                    + (
                        " (approved by a curator)"
                        if inputs.claim_reviewed and inputs.claim_method == "email_domain"
                        else ""
                    ),
                ]
                if part
            ),
        },
        "record": {
            "points": record,
            "max": RECORD_MAX,
            "why": f"{counted(inputs.identified_works, 'work')} with a DOI or arXiv id",
        },
        "network": {
            "points": network,
            "max": NETWORK_MAX,
            "why": f"{inputs.close_collaborators} close collaborator(s), {verified} verified",
        },
        "completeness": {
            "points": completeness,
            "max": COMPLETENESS_POINTS * len(filled),
            "why": ", ".join(
                name
                for name, present in zip(
                    ["affiliation", "summary", "topics", "ORCID"], filled, strict=True
                )
                if present
            )
            or "nothing beyond the name",
        },
    }
    return TrustResult(score=score, band=band_for(score), components=components)
