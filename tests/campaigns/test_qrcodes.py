"""Scene values (unique, compact, within WeChat's limits, never reused) and QR images."""

import io
import re
import zipfile

import pytest
import zxingcpp
from defusedxml import ElementTree
from django.urls import reverse
from PIL import Image

from campaigns import qrcodes
from campaigns.models import IssuedScene, Placement


def test_scenes_are_p_plus_a_base36_counter():
    assert [qrcodes.encode_scene(n) for n in (1, 10, 35, 36, 1295, 1296)] == ["p1", "pa", "pz", "p10", "pzz", "p100"]


def test_a_billion_placements_still_fit_the_mini_program_limit():
    scene = qrcodes.encode_scene(10**12)

    qrcodes.validate_scene(scene, Placement.QRKind.MINI_PROGRAM)

    assert len(scene) <= 32


@pytest.mark.parametrize(
    ("scene", "kind", "ok"),
    [
        ("a" * 64, Placement.QRKind.OA_PERMANENT, True),
        ("a" * 65, Placement.QRKind.OA_TEMPORARY, False),
        ("a" * 32, Placement.QRKind.MINI_PROGRAM, True),
        ("a" * 33, Placement.QRKind.MINI_PROGRAM, False),
        ("", Placement.QRKind.WEB_LINK, False),
        ("p%20", Placement.QRKind.MINI_PROGRAM, False),
        ("p 1", Placement.QRKind.OA_TEMPORARY, False),
        ("Store_1-a", Placement.QRKind.MINI_PROGRAM, True),
    ],
)
def test_scenes_are_checked_against_the_limits_of_their_kind_of_code(scene, kind, ok):
    if ok:
        qrcodes.validate_scene(scene, kind)
    else:
        with pytest.raises(qrcodes.InvalidScene):
            qrcodes.validate_scene(scene, kind)


@pytest.mark.django_db
def test_each_placement_gets_its_own_scene(make_placement):
    placements = [make_placement(f"Poster {n}") for n in range(5)]

    scenes = [p.scene for p in placements]
    assert len(set(scenes)) == 5
    assert all(re.fullmatch(r"p[0-9a-z]+", s) for s in scenes)


@pytest.mark.django_db
def test_a_deleted_placements_scene_is_never_issued_again(make_placement):
    first = make_placement("Poster A")
    old_scene = first.scene
    first.delete()

    second = make_placement("Poster B")

    assert second.scene != old_scene
    assert IssuedScene.objects.filter(value=old_scene).exists()


@pytest.mark.django_db
def test_allocation_skips_values_already_issued_some_other_way(make_placement):
    IssuedScene.objects.create(value="p1")
    IssuedScene.objects.create(value="p3")

    placement = make_placement("Poster")

    assert placement.scene not in {"p1", "p3"}
    assert IssuedScene.objects.count() == 3


def _decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


@pytest.mark.django_db
def test_the_png_decodes_to_the_placements_short_link_with_its_scene(settings, make_placement):
    settings.PUBLIC_BASE_URL = "https://wx.example.com"
    placement = make_placement("Store 001 counter")

    qr = qrcodes.placement_qr(placement, "png")

    assert qr.content_type == "image/png"
    assert _decode(qr.content) == f"https://wx.example.com/r/{placement.scene}"
    assert qr.name == f"23Q4-Sale-{placement.scene}-store-001-counter.png"


@pytest.mark.django_db
def test_the_png_has_a_caption_strip_under_the_code(make_placement):
    placement = make_placement()

    image = Image.open(io.BytesIO(qrcodes.placement_qr(placement, "png").content))

    width, height = image.size
    assert height > width
    caption_strip = image.crop((0, width, width, height)).convert("L")
    assert caption_strip.getextrema()[0] < 128  # some dark pixels: the caption text


@pytest.mark.django_db
def test_the_svg_is_valid_xml_with_the_caption(make_placement):
    placement = make_placement("Mall <entrance> & lift")

    svg = qrcodes.placement_qr(placement, "svg").content

    root = ElementTree.fromstring(svg)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert [t.text for t in root.findall("svg:text", ns)] == ["Q4 sale", "Mall <entrance> & lift"]
    assert root.find("svg:path", ns).get("d").startswith("M")


@pytest.mark.django_db
def test_the_api_serves_png_and_svg(api_client_for, marketer, make_placement):
    placement = make_placement()
    client = api_client_for(marketer)

    png = client.get(f"/api/v1/placements/{placement.pk}/qr.png")
    svg = client.get(f"/api/v1/placements/{placement.pk}/qr.svg?download=1")

    assert png.status_code == 200
    assert png["Content-Type"] == "image/png"
    assert _decode(png.content).endswith(f"/r/{placement.scene}")
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg["Content-Disposition"].startswith("attachment;")


@pytest.mark.django_db
def test_an_unknown_placement_or_format_is_a_404(api_client_for, marketer, make_placement):
    placement = make_placement()
    client = api_client_for(marketer)

    assert client.get("/api/v1/placements/999999/qr.png").status_code == 404
    assert client.get(f"/api/v1/placements/{placement.pk}/qr.gif").status_code == 404


@pytest.mark.django_db
def test_admin_downloads_a_zip_with_png_and_svg_per_placement(client, marketer, make_placement):
    placements = [make_placement(f"Poster {n}") for n in range(3)]
    client.force_login(marketer)

    response = client.post(
        reverse("admin:campaigns_placement_changelist"),
        {"action": "download_qr_zip", "_selected_action": [p.pk for p in placements]},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = sorted(archive.namelist())
    assert len(names) == 6
    assert all(name.startswith("23Q4-Sale/") for name in names)
    first_png = next(n for n in names if n.endswith(".png"))
    assert "/r/p" in _decode(archive.read(first_png))


@pytest.mark.django_db
def test_the_campaign_action_zips_all_its_placements(client, marketer, make_placement, campaign):
    make_placement("Poster 1")
    make_placement("Poster 2")
    client.force_login(marketer)

    response = client.post(
        reverse("admin:campaigns_campaign_changelist"), {"action": "download_qr_zip", "_selected_action": [campaign.pk]}
    )

    assert len(zipfile.ZipFile(io.BytesIO(response.content)).namelist()) == 4


@pytest.mark.django_db
def test_placement_detail_page_shows_the_preview_and_downloads(client, marketer, make_placement):
    placement = make_placement()
    client.force_login(marketer)

    response = client.get(reverse("admin:campaigns_placement_change", args=[placement.pk]))

    page = response.content.decode()
    assert f'src="/api/v1/placements/{placement.pk}/qr.png"' in page
    assert f"/api/v1/placements/{placement.pk}/qr.svg?download=1" in page
    assert placement.short_link_url() in page


@pytest.mark.django_db
def test_placements_created_in_admin_get_a_scene(client, marketer, campaign):
    client.force_login(marketer)

    response = client.post(
        reverse("admin:campaigns_placement_add"),
        {"campaign": campaign.pk, "name": "Counter", "kind": "store_counter", "qr_kind": "web_link"},
    )

    assert response.status_code == 302
    placement = Placement.objects.get(name="Counter")
    assert IssuedScene.objects.filter(value=placement.scene).exists()


@pytest.mark.django_db
def test_placements_added_inline_on_the_campaign_page_get_scenes(client, marketer, campaign):
    client.force_login(marketer)
    data = {
        "code": campaign.code,
        "name": campaign.name,
        "status": campaign.status,
        "currency": "CNY",
        "placements-TOTAL_FORMS": 2,
        "placements-INITIAL_FORMS": 0,
        "placements-0-name": "Door",
        "placements-0-kind": "poster",
        "placements-0-qr_kind": "web_link",
        "placements-1-name": "Till",
        "placements-1-kind": "store_counter",
        "placements-1-qr_kind": "web_link",
        "creatives-TOTAL_FORMS": 0,
        "creatives-INITIAL_FORMS": 0,
    }

    response = client.post(reverse("admin:campaigns_campaign_change", args=[campaign.pk]), data)

    assert response.status_code == 302, response.context["errors"] if response.context else response
    scenes = set(campaign.placements.values_list("scene", flat=True))
    assert len(scenes) == 2
    assert "" not in scenes


@pytest.mark.django_db
def test_expiring_filter_lists_codes_that_expire_within_a_week(client, analyst, make_placement):
    from datetime import timedelta

    from django.utils import timezone

    soon, later, expired = make_placement("Soon"), make_placement("Later"), make_placement("Expired")
    now = timezone.now()
    Placement.objects.filter(pk=soon.pk).update(qr_expires_at=now + timedelta(days=3))
    Placement.objects.filter(pk=later.pk).update(qr_expires_at=now + timedelta(days=20))
    Placement.objects.filter(pk=expired.pk).update(qr_expires_at=now - timedelta(days=1))
    client.force_login(analyst)

    soon_page = client.get(reverse("admin:campaigns_placement_changelist"), {"qr_expiry": "soon"})
    expired_page = client.get(reverse("admin:campaigns_placement_changelist"), {"qr_expiry": "expired"})

    assert [p.name for p in soon_page.context["cl"].result_list] == ["Soon"]
    assert [p.name for p in expired_page.context["cl"].result_list] == ["Expired"]


@pytest.mark.django_db
def test_the_placement_list_warns_about_codes_expiring_this_week(client, marketer, make_placement):
    from datetime import timedelta

    from django.utils import timezone

    soon = make_placement("Soon")
    Placement.objects.filter(pk=soon.pk).update(qr_expires_at=timezone.now() + timedelta(days=2))
    client.force_login(marketer)

    response = client.get(reverse("admin:campaigns_placement_changelist"))

    assert "1 temporary WeChat QR code expires within 7 days" in response.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_allocations_never_hand_out_the_same_scene():
    import threading

    from django.db import connection, transaction

    from campaigns.services import allocate_scenes

    results: list[list[str]] = []
    start = threading.Barrier(4)

    def allocate():
        try:
            start.wait()
            with transaction.atomic():
                results.append(allocate_scenes(25))
        finally:
            connection.close()

    threads = [threading.Thread(target=allocate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    scenes = [scene for batch in results for scene in batch]
    assert len(results) == 4
    assert len(set(scenes)) == 100
    assert IssuedScene.objects.count() == 100
