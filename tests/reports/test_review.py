"""Review entries: ISO weeks, one entry per owner per week, and who may change what —
in the policy, in admin and in the API."""

from datetime import UTC, datetime

import pytest
from django.contrib.admin.sites import site
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.urls import reverse

from reports.models import ReviewEntry, Snapshot
from reports.review import policy
from reports.review.services import DuplicateReviewEntry, link_week_snapshots, save_review_entry
from reports.review.weeks import parse_review_week, this_week
from reports.snapshots.build import build_snapshot

DUPLICATE = "You already logged an entry for 2025-W46 — edit it instead."
API = "/api/v1/reviews/"


@pytest.fixture
def other_owner(make_user):
    return make_user("sue", "Review owner")


@pytest.fixture
def superuser(make_user):
    return make_user("root", is_superuser=True)


def entry_for(owner, week="2025-W46", **fields):
    return ReviewEntry.objects.create(
        owner=owner, week=week, insight=fields.pop("insight", "Scans doubled"), change="Move the QR", **fields
    )


def weekly_snapshot(label: str) -> Snapshot:
    week = parse_review_week(label)
    return Snapshot.objects.create(
        kind=Snapshot.Kind.WEEKLY, period_start=week.start, period_end=week.end, period_label=label
    )


# --- weeks ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2025-46", "2025-W6", "2025-W00", "2025-W54", "2025-W53", "w46", ""])
def test_a_week_that_is_not_an_existing_iso_week_is_refused(text):
    with pytest.raises(ValueError):
        parse_review_week(text)


def test_an_iso_week_knows_its_neighbours_across_the_year_end():
    week = parse_review_week("2026-W53")

    assert (str(week.previous()), str(week.next())) == ("2026-W52", "2027-W01")


def test_this_week_is_cut_in_the_reporting_time_zone():
    sunday_evening_utc = datetime(2025, 11, 16, 20, 0, tzinfo=UTC)  # Monday 04:00 in Shanghai

    assert str(this_week(sunday_evening_utc)) == "2025-W47"


# --- one entry per owner and week --------------------------------------------------------


def test_the_database_refuses_a_second_entry_for_the_same_owner_and_week(review_owner):
    entry_for(review_owner)

    with pytest.raises(IntegrityError), transaction.atomic():
        entry_for(review_owner)


def test_saving_a_second_entry_raises_a_readable_duplicate_error(review_owner):
    entry_for(review_owner)

    with pytest.raises(DuplicateReviewEntry, match=DUPLICATE):
        save_review_entry(ReviewEntry(owner=review_owner, week="2025-W46", insight="i", change="c"))


def test_two_owners_may_log_the_same_week(review_owner, other_owner):
    entry_for(review_owner)
    entry_for(other_owner)

    assert ReviewEntry.objects.filter(week="2025-W46").count() == 2


def test_an_entry_is_linked_to_its_weeks_snapshot_when_it_exists(review_owner):
    snapshot = weekly_snapshot("2025-W46")

    entry = save_review_entry(ReviewEntry(owner=review_owner, week="2025-W46", insight="i", change="c"))

    assert entry.snapshot == snapshot


def test_entries_logged_before_their_snapshot_are_linked_once_it_is_built(review_owner, other_owner):
    early = entry_for(review_owner)
    other_week = entry_for(other_owner, week="2025-W45")
    snapshot = weekly_snapshot("2025-W46")

    linked = link_week_snapshots()

    early.refresh_from_db()
    other_week.refresh_from_db()
    assert (linked, early.snapshot, other_week.snapshot) == (1, snapshot, None)


def test_building_the_weekly_snapshot_links_the_weeks_entries(review_owner):
    entry = entry_for(review_owner)

    snapshot = build_snapshot("weekly", "2025-W46")

    entry.refresh_from_db()
    assert entry.snapshot == snapshot


# --- the policy ---------------------------------------------------------------------------


def test_a_review_owner_may_change_only_their_own_entries(review_owner, other_owner):
    own, others = entry_for(review_owner), entry_for(other_owner)

    assert policy.can_change_entry(review_owner, own) is True
    assert policy.can_change_entry(review_owner, others) is False
    assert policy.can_delete_entry(review_owner, others) is False


def test_an_analyst_reads_all_entries_but_writes_none(analyst, review_owner):
    entry = entry_for(review_owner)

    assert policy.can_view_entries(analyst) is True
    assert policy.can_add_entry(analyst) is False
    assert policy.can_change_entry(analyst, entry) is False


def test_a_superuser_may_change_anyones_entry_and_choose_its_owner(superuser, review_owner):
    entry = entry_for(review_owner)

    assert policy.can_change_entry(superuser, entry) is True
    assert policy.can_choose_owner(superuser) is True
    assert policy.can_choose_owner(review_owner) is False


def test_a_marketer_does_not_see_review_entries(marketer):
    assert policy.can_view_entries(marketer) is False


# --- admin ----------------------------------------------------------------------------------


def add_form(week="2025-W46", **extra):
    return {"week": week, "insight": "Scans doubled", "change": "Move the QR", "change_status": "planned", **extra}


def test_admin_refuses_a_second_entry_for_the_week_with_a_clear_message(client, review_owner):
    client.force_login(review_owner)
    client.post(reverse("admin:reports_reviewentry_add"), add_form())

    response = client.post(reverse("admin:reports_reviewentry_add"), add_form())

    assert response.status_code == 200
    assert DUPLICATE in response.content.decode()
    assert ReviewEntry.objects.filter(owner=review_owner).count() == 1


def test_admin_makes_the_review_owner_the_owner_whatever_the_form_says(client, review_owner, other_owner):
    client.force_login(review_owner)

    response = client.post(reverse("admin:reports_reviewentry_add"), add_form(owner=other_owner.pk))

    assert response.status_code == 302
    assert ReviewEntry.objects.get().owner == review_owner
    assert ReviewEntry.objects.get().get_absolute_url() == "/review/2025-W46/"


def test_admin_lets_a_superuser_log_an_entry_for_an_owner_and_still_refuses_a_duplicate(
    client, superuser, review_owner
):
    entry_for(review_owner)
    client.force_login(superuser)

    response = client.post(reverse("admin:reports_reviewentry_add"), add_form(owner=review_owner.pk))

    assert response.status_code == 200
    assert DUPLICATE in response.content.decode()


def test_admin_lets_an_owner_edit_their_own_entry(client, review_owner):
    entry = entry_for(review_owner)
    client.force_login(review_owner)

    response = client.post(
        reverse("admin:reports_reviewentry_change", args=[entry.pk]),
        add_form(change_status="done", outcome_note="Scans up 30 %"),
    )

    entry.refresh_from_db()
    assert response.status_code == 302
    assert (entry.change_status, entry.outcome_note) == ("done", "Scans up 30 %")


def test_admin_refuses_an_owner_editing_someone_elses_entry(client, review_owner, other_owner):
    entry = entry_for(other_owner)
    client.force_login(review_owner)

    response = client.post(
        reverse("admin:reports_reviewentry_change", args=[entry.pk]), add_form(insight="Overwritten")
    )

    entry.refresh_from_db()
    assert response.status_code == 403
    assert entry.insight == "Scans doubled"


def test_admin_refuses_an_owner_deleting_someone_elses_entry(client, review_owner, other_owner):
    entry = entry_for(other_owner)
    client.force_login(review_owner)

    response = client.post(reverse("admin:reports_reviewentry_delete", args=[entry.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert ReviewEntry.objects.filter(pk=entry.pk).exists()


def test_admin_bulk_delete_refuses_when_someone_elses_entry_is_selected(client, review_owner, other_owner):
    own, others = entry_for(review_owner), entry_for(other_owner)
    client.force_login(review_owner)

    client.post(
        reverse("admin:reports_reviewentry_changelist"),
        {"action": "delete_selected", "_selected_action": [own.pk, others.pk], "post": "yes"},
    )

    assert ReviewEntry.objects.filter(pk__in=[own.pk, others.pk]).count() == 2


def test_admin_shows_an_owner_everyones_entries_but_the_others_read_only(client, review_owner, other_owner):
    entry_for(review_owner, insight="Mine")
    others = entry_for(other_owner, insight="Theirs")
    client.force_login(review_owner)

    listing = client.get(reverse("admin:reports_reviewentry_changelist"))
    detail = client.get(reverse("admin:reports_reviewentry_change", args=[others.pk]))

    assert listing.status_code == 200
    assert {"Mine", "Theirs"} <= {row.insight for row in listing.context["cl"].result_list}
    assert detail.status_code == 200
    assert detail.context["has_change_permission"] is False


def test_admin_lets_an_analyst_read_entries_but_not_add_them(client, analyst, review_owner):
    entry_for(review_owner)
    client.force_login(analyst)

    assert client.get(reverse("admin:reports_reviewentry_changelist")).status_code == 200
    assert client.post(reverse("admin:reports_reviewentry_add"), add_form()).status_code == 403


def test_the_admin_action_changes_only_the_owners_own_entries(client, review_owner, other_owner):
    own, others = entry_for(review_owner), entry_for(other_owner)
    client.force_login(review_owner)

    client.post(
        reverse("admin:reports_reviewentry_changelist"),
        {"action": "mark_done", "_selected_action": [own.pk, others.pk]},
    )

    own.refresh_from_db()
    others.refresh_from_db()
    assert (own.change_status, others.change_status) == ("done", "planned")


def test_the_owner_field_is_read_only_for_review_owners_only(review_owner, superuser):
    admin = site._registry[ReviewEntry]
    request = RequestFactory().get("/")

    request.user = review_owner
    owner_view = admin.get_readonly_fields(request)
    request.user = superuser
    superuser_view = admin.get_readonly_fields(request)

    assert "owner" in owner_view
    assert "owner" not in superuser_view


# --- API ------------------------------------------------------------------------------------


def body(week="2025-W46", **extra):
    return {"week": week, "insight": "Scans doubled", "change": "Move the QR", **extra}


def test_the_api_creates_an_entry_owned_by_the_requesting_user(client, review_owner, other_owner):
    client.force_login(review_owner)

    response = client.post(API, body(owner=other_owner.username), content_type="application/json")

    assert response.status_code == 201, response.content
    assert response.json()["owner"] == "rob"
    assert ReviewEntry.objects.get().owner == review_owner


def test_the_api_refuses_a_second_entry_for_the_week_with_a_400_and_the_message(client, review_owner):
    client.force_login(review_owner)
    client.post(API, body(), content_type="application/json")

    response = client.post(API, body(), content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"week": [DUPLICATE]}


def test_the_api_refuses_moving_an_entry_onto_a_week_already_logged(client, review_owner):
    entry_for(review_owner, week="2025-W45")
    later = entry_for(review_owner, week="2025-W46")
    client.force_login(review_owner)

    response = client.patch(f"{API}{later.pk}/", {"week": "2025-W45"}, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"week": ["You already logged an entry for 2025-W45 — edit it instead."]}


@pytest.mark.parametrize("week", ["2025-46", "2025-W53", "next week"])
def test_the_api_refuses_a_week_that_is_not_an_iso_week(client, review_owner, week):
    client.force_login(review_owner)

    response = client.post(API, body(week=week), content_type="application/json")

    assert response.status_code == 400
    assert "week" in response.json()


def test_the_api_lets_an_owner_record_the_outcome_of_their_own_change(client, review_owner):
    entry = entry_for(review_owner)
    client.force_login(review_owner)

    response = client.patch(
        f"{API}{entry.pk}/", {"change_status": "done", "outcome_note": "Up 30 %"}, content_type="application/json"
    )

    entry.refresh_from_db()
    assert response.status_code == 200
    assert (entry.change_status, entry.outcome_note) == ("done", "Up 30 %")


def test_the_api_forbids_changing_or_deleting_another_owners_entry(client, review_owner, other_owner):
    entry = entry_for(other_owner)
    client.force_login(review_owner)

    patched = client.patch(f"{API}{entry.pk}/", {"insight": "Mine now"}, content_type="application/json")
    deleted = client.delete(f"{API}{entry.pk}/")

    entry.refresh_from_db()
    assert (patched.status_code, deleted.status_code) == (403, 403)
    assert entry.insight == "Scans doubled"


def test_the_api_shows_an_analyst_all_entries_and_refuses_their_writes(client, analyst, review_owner, other_owner):
    entry = entry_for(review_owner)
    entry_for(other_owner)
    client.force_login(analyst)

    listing = client.get(API)
    created = client.post(API, body(week="2025-W47"), content_type="application/json")
    patched = client.patch(f"{API}{entry.pk}/", {"insight": "x"}, content_type="application/json")

    assert listing.json()["count"] == 2
    assert (created.status_code, patched.status_code) == (403, 403)


def test_the_api_filters_entries_by_week_and_owner(client, analyst, review_owner, other_owner):
    entry_for(review_owner, week="2025-W45")
    entry_for(review_owner, week="2025-W46")
    entry_for(other_owner, week="2025-W46")
    client.force_login(analyst)

    by_week = client.get(API, {"week": "2025-W46"}).json()
    by_owner = client.get(API, {"owner__username": "sue"}).json()

    assert {row["owner"] for row in by_week["results"]} == {"rob", "sue"}
    assert [row["week"] for row in by_owner["results"]] == ["2025-W46"]


def test_the_api_is_closed_to_a_marketer(client, marketer):
    client.force_login(marketer)

    assert client.get(API).status_code == 403


def test_the_api_lists_entries_in_a_fixed_number_of_queries(
    client, analyst, review_owner, other_owner, django_assert_max_num_queries
):
    for week in ("2025-W44", "2025-W45", "2025-W46"):
        entry_for(review_owner, week=week)
        entry_for(other_owner, week=week)
    client.force_login(analyst)

    with django_assert_max_num_queries(8):
        response = client.get(API)

    assert response.json()["count"] == 6


def test_the_admin_add_form_shows_the_owner_as_the_person_adding_and_this_week(client, review_owner):
    client.force_login(review_owner)

    response = client.get(reverse("admin:reports_reviewentry_add"))

    form = response.context["adminform"].form
    assert "owner" not in form.fields
    assert form.instance.owner == review_owner
    assert form.initial["week"] == str(this_week())


@pytest.mark.parametrize("week", ["0001-W01", "9999-W52"])
def test_a_review_week_outside_2000_to_2099_is_refused_by_the_api_and_its_page_is_a_404(client, review_owner, week):
    client.force_login(review_owner)

    response = client.post(API, body(week=week), content_type="application/json")
    page = client.get(f"/review/{week}/")

    assert response.status_code == 400
    assert "outside" in response.json()["week"][0]
    assert not ReviewEntry.objects.exists()
    assert page.status_code == 404


@pytest.mark.parametrize("week", ["0001-W01", "9999-W52"])
def test_a_review_week_outside_2000_to_2099_is_refused_in_admin(client, review_owner, week):
    client.force_login(review_owner)

    response = client.post(reverse("admin:reports_reviewentry_add"), add_form(week=week))

    assert response.status_code == 200
    assert "outside" in response.content.decode()
    assert not ReviewEntry.objects.exists()
