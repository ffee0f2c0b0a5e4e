"""The curation services record a correction the same way whoever calls them: a shell or a
test gets the public note and the refreshed counts the admin gets."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from bzpeer.curation import services
from claims.models import Claim, NotMeReport
from profiles.models import VerificationLevel
from tests.factories import AuthorshipFactory, ResearcherFactory, UserFactory, WorkFactory

pytestmark = pytest.mark.django_db


def corrections_html(client, record) -> str:
    html = client.get(record.get_absolute_url()).content.decode()
    assert 'id="corrections"' in html
    return html


def test_editing_a_work_outside_the_admin_writes_the_public_note(client, curator):
    record = ResearcherFactory()
    work = AuthorshipFactory(researcher=record, work=WorkFactory(title="Old title")).work
    work.title = "New title"

    services.edit_work(
        work=work, curator=curator, changed=["title"], labels=["Title"], save=work.save
    )

    assert "Corrected the work &#x27;New title&#x27;: title." in corrections_html(client, record)


def test_hiding_a_work_through_an_edit_recounts_its_authors(curator):
    record = ResearcherFactory()
    work = AuthorshipFactory(researcher=record).work
    AuthorshipFactory(researcher=record)
    services.recompute(researchers=[record], curator=curator)
    record.refresh_from_db()
    assert record.works_count == 2

    work.is_hidden = True
    services.edit_work(
        work=work, curator=curator, changed=["is_hidden"], labels=["Is hidden"], save=work.save
    )
    assert services.work_edited(work=work, curator=curator, changed=["is_hidden"])

    record.refresh_from_db()
    assert record.works_count == 1


def test_a_cosmetic_work_edit_refreshes_nothing(curator):
    work = AuthorshipFactory().work
    assert services.work_edited(work=work, curator=curator, changed=["abstract"]) == set()


def test_a_curator_releases_a_record_from_its_owner(client, curator):
    owner = UserFactory()
    record = ResearcherFactory(
        owner=owner, verification_level=VerificationLevel.L2, orcid="0000-0002-1825-0097"
    )
    claim = Claim.objects.create(
        user=owner, researcher=record, method=Claim.Method.EVIDENCE, status=Claim.Status.APPROVED
    )

    services.release_record(researcher=record, curator=curator, reason="Wrong person.")

    record.refresh_from_db()
    claim.refresh_from_db()
    assert record.owner is None and record.verification_level == VerificationLevel.L1
    assert (claim.status, claim.reason) == (Claim.Status.WITHDRAWN, "Wrong person.")
    assert "Released the record from its owner." in corrections_html(client, record)
    with pytest.raises(services.CurationError, match="has no owner"):
        services.release_record(researcher=record, curator=curator)


def test_only_curators_release_records(curator):
    record = ResearcherFactory(owner=UserFactory())
    with pytest.raises(PermissionDenied):
        services.release_record(researcher=record, curator=UserFactory(is_staff=True))


def test_accepting_a_not_me_report_outside_the_admin_lists_the_correction(client, curator):
    owner = UserFactory()
    record = ResearcherFactory(owner=owner)
    work = AuthorshipFactory(researcher=record, work=WorkFactory(title="Not my paper")).work
    AuthorshipFactory(researcher=record)
    report = NotMeReport.objects.create(researcher=record, work=work, user=owner, reason="no")

    services.accept_not_me(report=report, curator=curator)

    record.refresh_from_db()
    assert record.works_count == 1
    assert not record.authorships.filter(work=work).exists()
    html = corrections_html(client, record)
    assert "Removed a work its owner reported as not theirs: Not my paper." in html
