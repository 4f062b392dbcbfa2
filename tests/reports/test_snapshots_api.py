import pytest
from rest_framework.test import APIClient

from reports.models import Snapshot
from tests.reports.snapshot_data import built


@pytest.fixture
def snapshots(db):
    return {
        "w46": built("weekly", "2025-W46", data={"title": "w46", "sections": [{"key": "kpis", "rows": [["x"]]}]}),
        "w45": built("weekly", "2025-W45"),
        "d": built("daily", "2025-11-12"),
        "m": built("monthly", "2025-10"),
    }


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_snapshots_are_listed_with_their_data_as_json(snapshots, marketer, django_assert_max_num_queries):
    client = client_for(marketer)

    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/snapshots/")

    assert response.status_code == 200
    assert response.json()["count"] == 4
    w46 = next(r for r in response.json()["results"] if r["period_label"] == "2025-W46")
    assert w46["kind"] == "weekly" and w46["data"]["sections"][0]["key"] == "kpis"


def test_snapshots_filter_by_kind_period_label_and_date_range(snapshots, analyst):
    client = client_for(analyst)

    by_kind = client.get("/api/v1/snapshots/", {"kind": "weekly"}).json()
    by_label = client.get("/api/v1/snapshots/", {"kind": "weekly", "period_label": "2025-W45"}).json()
    by_range = client.get("/api/v1/snapshots/", {"start_from": "2025-11-01", "start_to": "2025-11-10"}).json()

    assert {r["period_label"] for r in by_kind["results"]} == {"2025-W46", "2025-W45"}
    assert [r["period_label"] for r in by_label["results"]] == ["2025-W45"]
    assert {r["period_label"] for r in by_range["results"]} == {"2025-W46", "2025-W45"}


def test_reading_snapshots_needs_the_view_permission(snapshots, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="pw", is_staff=True)

    assert APIClient().get("/api/v1/snapshots/").status_code in (401, 403)
    assert client_for(nobody).get("/api/v1/snapshots/").status_code == 403


def test_an_analyst_queues_a_rebuild_with_or_without_the_trailing_slash(
    snapshots, analyst, django_capture_on_commit_callbacks
):
    client = client_for(analyst)
    pk = snapshots["w46"].pk

    with django_capture_on_commit_callbacks() as callbacks:
        plain = client.post(f"/api/v1/snapshots/{pk}/rebuild")
        slashed = client.post(f"/api/v1/snapshots/{pk}/rebuild/")

    assert plain.status_code == slashed.status_code == 202
    assert plain.json() == {"queued": True, "kind": "weekly", "period_label": "2025-W46"}
    assert len(callbacks) == 2  # sent to the broker only after commit


def test_a_marketer_may_read_but_not_rebuild(snapshots, marketer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(marketer).post(f"/api/v1/snapshots/{snapshots['w46'].pk}/rebuild")

    assert response.status_code == 403
    assert callbacks == []


def test_the_api_is_read_only(snapshots, analyst):
    client = client_for(analyst)

    created = client.post("/api/v1/snapshots/", {}, format="json")
    deleted = client.delete(f"/api/v1/snapshots/{snapshots['w46'].pk}/")

    assert created.status_code in (403, 405) and deleted.status_code in (403, 405)
    assert Snapshot.objects.filter(pk=snapshots["w46"].pk).exists()


def test_the_schema_documents_the_snapshot_endpoints(db, analyst):
    response = client_for(analyst).get("/api/schema/", {"format": "json"})

    paths = response.json()["paths"]
    assert any(p.startswith("/api/v1/snapshots/{id}/rebuild") for p in paths)
    assert "get" in next(v for p, v in paths.items() if p.rstrip("/") == "/api/v1/snapshots")
