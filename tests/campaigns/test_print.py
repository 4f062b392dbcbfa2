"""QR codes a print shop can use: Chinese captions, large PNGs, the A4 print sheet, Chinese
file names in ZIPs, and the warning when the codes point at this machine."""

import io
import zipfile

import pypdfium2
import pytest
import zxingcpp
from django.urls import reverse
from PIL import Image, ImageChops

from campaigns import qrcodes
from campaigns.models import Campaign, Placement, WeChatApp

pytestmark = pytest.mark.django_db


def _decode_all(image: Image.Image) -> set[str]:
    return {result.text for result in zxingcpp.read_barcodes(image)}


def _caption_strip(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png)).convert("L")
    return image.crop((0, image.width, image.width, image.height))


def _ink(image: Image.Image) -> int:
    """How many pixels are darker than mid-grey."""
    return sum(image.point(lambda v: 255 if v < 128 else 0).histogram()[255:])


def test_two_chinese_captions_render_to_different_glyphs_not_tofu_boxes(settings):
    settings.QR_CAPTION_FONT = ""  # the font shipped with the requirements, as on a fresh machine
    qrcodes.caption_font.cache_clear()
    content = "https://wx.example.com/r/p1"

    spring = _caption_strip(qrcodes.render_png(content, ["春节礼盒"]))
    autumn = _caption_strip(qrcodes.render_png(content, ["中秋月饼"]))
    # U+E000–E003 are private-use code points no font draws: what a missing glyph looks like.
    unknown_a = _caption_strip(qrcodes.render_png(content, ["\ue000\ue001\ue002\ue003"]))
    unknown_b = _caption_strip(qrcodes.render_png(content, ["\ue003\ue002\ue001\ue000"]))

    assert _ink(spring) > 0 and _ink(autumn) > 0
    assert ImageChops.difference(spring, autumn).getbbox() is not None  # different characters, different pixels
    # Missing glyphs all draw the same box, so two strings of them look alike; ours do not look like that.
    assert ImageChops.difference(unknown_a, unknown_b).getbbox() is None
    assert ImageChops.difference(spring, unknown_a).getbbox() is not None


def test_qr_caption_font_overrides_the_shipped_font(settings, tmp_path):
    qrcodes.caption_font.cache_clear()
    settings.QR_CAPTION_FONT = qrcodes.PACKAGED_FONT  # any real path: the override is used as given
    try:
        assert qrcodes.caption_font(18).getname()[0] == "Noto Sans CJK JP"  # face 0 of the collection
    finally:
        settings.QR_CAPTION_FONT = ""
        qrcodes.caption_font.cache_clear()
    assert qrcodes.caption_font(18).getname()[0] == "Noto Sans CJK SC"


def test_a_large_png_for_print_is_at_least_the_size_asked_and_decodes(api_client_for, marketer, campaign):
    from campaigns.services import placement_create

    campaign.name = "春节礼盒"
    campaign.save()
    placement = placement_create(Placement(campaign=campaign, name="地铁海报"))

    response = api_client_for(marketer).get(f"/api/v1/placements/{placement.pk}/qr.png?size=1200&download=1")

    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.content))
    assert image.width >= 1200
    assert _decode_all(image) == {placement.short_link_url()}
    # The Chinese file name survives (RFC 6266 filename*), next to an ASCII fallback.
    assert "filename*=utf-8''" in response["Content-Disposition"]
    assert "%E5%9C%B0%E9%93%81%E6%B5%B7%E6%8A%A5" in response["Content-Disposition"]  # 地铁海报


def test_a_png_size_out_of_range_is_a_400_with_the_limits(api_client_for, marketer, make_placement):
    placement = make_placement()
    client = api_client_for(marketer)

    for size in ("50", "100000", "big"):
        response = client.get(f"/api/v1/placements/{placement.pk}/qr.png?size={size}")
        assert response.status_code == 400
        assert str(qrcodes.PNG_MAX_SIZE) in response.json()["size"][0]


def _pages(pdf: bytes) -> list[Image.Image]:
    document = pypdfium2.PdfDocument(pdf)
    return [page.render(scale=150 / 72).to_pil() for page in document]  # rasterised at 150 dpi


def test_the_campaign_print_sheet_is_a4_with_six_decodable_codes_per_page(api_client_for, marketer, campaign):
    from campaigns.services import placement_create

    placements = [placement_create(Placement(campaign=campaign, name=f"门店 {n:02}")) for n in range(7)]

    response = api_client_for(marketer).get(f"/api/v1/placements/print-sheet.pdf?campaign={campaign.code}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    document = pypdfium2.PdfDocument(response.content)
    assert len(document) == 2  # 6 + 1
    width, height = document[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    pages = _pages(response.content)
    assert _decode_all(pages[0]) == {p.short_link_url() for p in placements[:6]}
    assert _decode_all(pages[1]) == {placements[6].short_link_url()}


def test_a_print_sheet_of_chosen_placements_holds_only_those(api_client_for, marketer, make_placement):
    chosen = [make_placement("A"), make_placement("C")]
    make_placement("B")

    query = "&".join(f"placement={p.pk}" for p in chosen)
    response = api_client_for(marketer).get(f"/api/v1/placements/print-sheet.pdf?{query}")

    assert response.status_code == 200
    assert _decode_all(_pages(response.content)[0]) == {p.short_link_url() for p in chosen}


def test_a_print_sheet_without_a_choice_is_a_400_that_says_what_to_choose(api_client_for, marketer):
    response = api_client_for(marketer).get("/api/v1/placements/print-sheet.pdf")

    assert response.status_code == 400
    assert "campaign" in response.json()


def test_the_admin_actions_download_the_print_sheet(client, marketer, make_placement, campaign):
    placements = [make_placement("Poster 1"), make_placement("Poster 2")]
    client.force_login(marketer)

    from_placements = client.post(
        reverse("admin:campaigns_placement_changelist"),
        {"action": "print_sheet", "_selected_action": [placements[0].pk]},
    )
    from_campaign = client.post(
        reverse("admin:campaigns_campaign_changelist"), {"action": "print_sheet", "_selected_action": [campaign.pk]}
    )

    assert from_placements["Content-Type"] == "application/pdf"
    assert _decode_all(_pages(from_placements.content)[0]) == {placements[0].short_link_url()}
    assert _decode_all(_pages(from_campaign.content)[0]) == {p.short_link_url() for p in placements}


def test_zip_downloads_keep_chinese_file_names_with_the_utf8_flag(client, marketer, marketer_campaign_zh):
    from campaigns.services import placement_create

    placement = placement_create(Placement(campaign=marketer_campaign_zh, name="地铁海报"))
    client.force_login(marketer)

    response = client.post(
        reverse("admin:campaigns_placement_changelist"),
        {"action": "download_qr_zip", "_selected_action": [placement.pk]},
    )

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = sorted(archive.namelist())
    assert names == [f"CNY/CNY-{placement.scene}-地铁海报.png", f"CNY/CNY-{placement.scene}-地铁海报.svg"]
    assert all(info.flag_bits & 0x800 for info in archive.infolist())  # "language encoding" bit: UTF-8 names


@pytest.fixture
def marketer_campaign_zh(marketer):
    return Campaign.objects.create(code="CNY", name="春节礼盒", owner=marketer)


def test_placement_pages_and_downloads_warn_when_codes_point_at_this_machine(
    settings, client, api_client_for, marketer, make_placement
):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    placement = make_placement()
    client.force_login(marketer)

    page = client.get(reverse("admin:campaigns_placement_change", args=[placement.pk])).content.decode()
    download = api_client_for(marketer).get(f"/api/v1/placements/{placement.pk}/qr.png")

    assert "phones cannot open these QR codes" in page
    assert "LAN address" in page
    assert "phones cannot open" in download["X-QR-Warning"]


def test_no_warning_when_codes_point_at_a_public_address(settings, client, api_client_for, marketer, make_placement):
    settings.PUBLIC_BASE_URL = "http://192.168.1.23:8000"
    placement = make_placement()
    client.force_login(marketer)

    page = client.get(reverse("admin:campaigns_placement_change", args=[placement.pk])).content.decode()
    download = api_client_for(marketer).get(f"/api/v1/placements/{placement.pk}/qr.png")

    assert "phones cannot open" not in page
    assert "X-QR-Warning" not in download


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.0.1.1"])
def test_loopback_addresses_are_recognised(settings, host):
    settings.PUBLIC_BASE_URL = f"http://{host}:8000"
    assert qrcodes.public_base_is_loopback()


# --- a WeChat code kind that cannot be issued is refused at save time ---------------------


def test_the_api_refuses_an_official_account_code_whose_app_has_no_appsecret(api_client_for, marketer, campaign):
    app = WeChatApp.objects.create(appid="wxnosecret", name="品牌号", kind=WeChatApp.Kind.OFFICIAL_ACCOUNT)

    response = api_client_for(marketer).post(
        "/api/v1/placements/",
        {"campaign": campaign.pk, "name": "P", "qr_kind": "oa_temporary", "wechat_app": app.pk},
        format="json",
    )

    assert response.status_code == 400
    assert "has no AppSecret" in response.json()["qr_kind"][0]
    assert not Placement.objects.filter(name="P").exists()


def test_the_api_refuses_a_wechat_code_without_an_app(api_client_for, marketer, campaign):
    response = api_client_for(marketer).post(
        "/api/v1/placements/", {"campaign": campaign.pk, "name": "P", "qr_kind": "oa_permanent"}, format="json"
    )

    assert response.status_code == 400
    assert "Web short link" in response.json()["wechat_app"][0]


def test_the_api_refuses_switching_an_existing_placement_to_a_code_its_app_cannot_issue(
    api_client_for, marketer, make_placement
):
    app = WeChatApp.objects.create(appid="wxnosecret", kind=WeChatApp.Kind.OFFICIAL_ACCOUNT)
    placement = make_placement()

    response = api_client_for(marketer).patch(
        f"/api/v1/placements/{placement.pk}/", {"qr_kind": "oa_permanent", "wechat_app": app.pk}, format="json"
    )

    assert response.status_code == 400
    placement.refresh_from_db()
    assert placement.qr_kind == Placement.QRKind.WEB_LINK


def test_the_admin_refuses_an_official_account_code_whose_app_has_no_appsecret(client, marketer, campaign):
    app = WeChatApp.objects.create(appid="wxnosecret", kind=WeChatApp.Kind.OFFICIAL_ACCOUNT)
    client.force_login(marketer)

    response = client.post(
        reverse("admin:campaigns_placement_add"),
        {
            "campaign": campaign.pk,
            "name": "Counter",
            "kind": "store_counter",
            "qr_kind": "oa_temporary",
            "wechat_app": app.pk,
            "mp_env_version": "release",
        },
    )

    assert response.status_code == 200  # the form again, with the reason
    assert "has no AppSecret" in response.content.decode()
    assert not Placement.objects.filter(name="Counter").exists()
