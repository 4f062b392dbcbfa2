"""The WeChat QR client against a fake WeChat server on localhost."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import services, tasks
from campaigns.models import Placement, WeChatApp
from campaigns.wechat_api import WeChatAPIError, WeChatClient

pytestmark = pytest.mark.django_db


def test_it_creates_a_temporary_code_and_caches_the_token_on_the_app(fake_wechat, oa_app):
    client = WeChatClient(oa_app)

    ticket = client.create_qrcode(scene="p1", permanent=False, expire_seconds=604800)

    assert ticket.url == "http://weixin.qq.com/q/fake-p1"
    assert ticket.expire_seconds == 604800
    assert fake_wechat.paths() == ["/cgi-bin/stable_token", "/cgi-bin/qrcode/create"]
    _, _, token_body = fake_wechat.calls[0]
    assert token_body == {
        "grant_type": "client_credential",
        "appid": oa_app.appid,
        "secret": "s3cret-value",
        "force_refresh": False,
    }
    _, query, qr_body = fake_wechat.calls[1]
    assert query == {"access_token": "token-1"}
    assert qr_body == {
        "action_name": "QR_STR_SCENE",
        "expire_seconds": 604800,
        "action_info": {"scene": {"scene_str": "p1"}},
    }
    oa_app.refresh_from_db()
    assert oa_app.access_token == "token-1"
    assert oa_app.access_token_expires_at > timezone.now() + timedelta(seconds=7000)


def test_a_cached_token_is_reused_by_the_next_client(fake_wechat, oa_app):
    WeChatClient(oa_app).create_qrcode(scene="p1", permanent=True)

    WeChatClient(WeChatApp.objects.get(pk=oa_app.pk)).create_qrcode(scene="p2", permanent=True)

    assert fake_wechat.paths().count("/cgi-bin/stable_token") == 1
    assert fake_wechat.calls[-1][2]["action_name"] == "QR_LIMIT_STR_SCENE"
    assert "expire_seconds" not in fake_wechat.calls[-1][2]


def test_a_token_close_to_expiry_is_refreshed_before_use(fake_wechat, oa_app):
    fake_wechat.tokens_issued = 1
    oa_app.access_token = "token-1"
    oa_app.access_token_expires_at = timezone.now() + timedelta(seconds=200)
    oa_app.save()

    WeChatClient(oa_app).create_qrcode(scene="p1", permanent=True)

    assert fake_wechat.paths() == ["/cgi-bin/stable_token", "/cgi-bin/qrcode/create"]
    assert WeChatApp.objects.get(pk=oa_app.pk).access_token == "token-2"


def test_an_expired_token_is_refreshed_once_and_the_call_retried(fake_wechat, oa_app):
    # The row believes token-1 is good for an hour, but WeChat has moved on to token-2.
    fake_wechat.tokens_issued = 2
    oa_app.access_token = "token-1"
    oa_app.access_token_expires_at = timezone.now() + timedelta(hours=1)
    oa_app.save()

    ticket = WeChatClient(oa_app).create_qrcode(scene="p7", permanent=True)

    assert ticket.ticket == "gQ-p7"
    assert fake_wechat.paths() == ["/cgi-bin/qrcode/create", "/cgi-bin/stable_token", "/cgi-bin/qrcode/create"]
    assert WeChatApp.objects.get(pk=oa_app.pk).access_token == "token-3"


def test_a_wechat_error_code_becomes_a_readable_domain_error(fake_wechat, oa_app):
    fake_wechat.qr_errors = [40053]

    with pytest.raises(WeChatAPIError) as caught:
        WeChatClient(oa_app).create_qrcode(scene="p1", permanent=True)

    assert caught.value.errcode == 40053
    assert str(caught.value) == "WeChat /cgi-bin/qrcode/create answered errcode 40053: invalid action info"


def test_a_token_error_that_persists_after_one_refresh_is_raised(fake_wechat, oa_app):
    fake_wechat.qr_errors = [40001, 40001]

    with pytest.raises(WeChatAPIError) as caught:
        WeChatClient(oa_app).create_qrcode(scene="p1", permanent=True)

    assert caught.value.errcode == 40001
    assert fake_wechat.paths().count("/cgi-bin/qrcode/create") == 2


def test_an_unreachable_wechat_is_a_domain_error_not_a_crash(settings, oa_app):
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"  # discard port: nothing listens

    with pytest.raises(WeChatAPIError) as caught:
        WeChatClient(oa_app, timeout=2).access_token()

    assert caught.value.errcode is None
    assert "could not be reached" in str(caught.value)


def test_an_official_account_placement_gets_its_code_from_wechat(fake_wechat, oa_app, campaign):
    placement = services.placement_create(
        Placement(campaign=campaign, name="Mall poster", qr_kind=Placement.QRKind.OA_TEMPORARY, wechat_app=oa_app)
    )

    placement.refresh_from_db()
    assert placement.qr_url == f"http://weixin.qq.com/q/fake-{placement.scene}"
    assert placement.qr_content() == placement.qr_url
    assert placement.qr_ticket == f"gQ-{placement.scene}"
    assert placement.qr_expires_at == pytest.approx(timezone.now() + timedelta(days=30), abs=timedelta(minutes=1))
    assert fake_wechat.calls[-1][2]["expire_seconds"] == 2_592_000


def test_a_temporary_code_expires_when_its_campaign_ends(oa_app, campaign):
    campaign.ends_on = timezone.localdate() + timedelta(days=5)
    campaign.save()
    placement = Placement(campaign=campaign, name="x", qr_kind=Placement.QRKind.OA_TEMPORARY, wechat_app=oa_app)

    seconds = services.temporary_qr_seconds(placement)

    assert 5 * 86400 < seconds <= 6 * 86400


def test_a_refused_code_is_kept_on_the_placement_and_the_short_link_still_works(fake_wechat, oa_app, campaign):
    fake_wechat.qr_errors = [45009]

    placement = services.placement_create(
        Placement(campaign=campaign, name="Mall poster", qr_kind=Placement.QRKind.OA_PERMANENT, wechat_app=oa_app)
    )

    placement.refresh_from_db()
    assert placement.qr_error == "WeChat /cgi-bin/qrcode/create answered errcode 45009: error"
    assert placement.qr_content() == placement.short_link_url()


def test_a_placement_without_a_secret_never_calls_wechat(fake_wechat, campaign):
    app = WeChatApp.objects.create(appid="wxnosecret", kind=WeChatApp.Kind.OFFICIAL_ACCOUNT)

    placement = services.placement_create(
        Placement(campaign=campaign, name="Poster", qr_kind=Placement.QRKind.OA_TEMPORARY, wechat_app=app)
    )

    assert fake_wechat.calls == []
    assert placement.qr_content().endswith(f"/r/{placement.scene}")


def test_a_mini_program_code_is_drawn_by_wechat_and_captioned(fake_wechat, mp_app, campaign, media_storage):
    import io

    import zxingcpp
    from PIL import Image

    from campaigns.qrcodes import placement_qr

    placement = services.placement_create(
        Placement(
            campaign=campaign,
            name="Parcel insert",
            qr_kind=Placement.QRKind.MINI_PROGRAM,
            wechat_app=mp_app,
            mp_page="pages/index/index",
        )
    )

    placement.refresh_from_db()
    assert placement.qr_image.name.endswith(f"{placement.scene}.png")
    _, query, body = fake_wechat.calls[-1]
    assert query == {"access_token": "token-1"}
    assert body == {
        "scene": placement.scene,
        "check_path": False,
        "env_version": "release",
        "width": 430,
        "page": "pages/index/index",
    }
    png = placement_qr(placement, "png").content
    image = Image.open(io.BytesIO(png))
    assert image.height > image.width  # the caption strip
    assert zxingcpp.read_barcodes(image)[0].text == f"mp:{placement.scene}"
    svg = placement_qr(placement, "svg").content
    assert b"data:image/png;base64," in svg
    assert b"Parcel insert" in svg


def test_a_mini_program_error_answer_is_a_domain_error(fake_wechat, mp_app, campaign, media_storage):
    fake_wechat.qr_errors = [41030]

    placement = services.placement_create(
        Placement(campaign=campaign, name="Parcel", qr_kind=Placement.QRKind.MINI_PROGRAM, wechat_app=mp_app)
    )

    placement.refresh_from_db()
    assert placement.qr_error == "WeChat /wxa/getwxacodeunlimit answered errcode 41030: invalid page"
    assert not placement.qr_image


def test_an_expired_token_is_refreshed_for_mini_program_codes_too(fake_wechat, mp_app, campaign, media_storage):
    fake_wechat.tokens_issued = 5
    mp_app.access_token = "token-4"
    mp_app.access_token_expires_at = timezone.now() + timedelta(hours=1)
    mp_app.save()
    placement = Placement(campaign=campaign, name="P", qr_kind=Placement.QRKind.MINI_PROGRAM, wechat_app=mp_app)

    services.placement_create(placement)

    assert fake_wechat.paths() == ["/wxa/getwxacodeunlimit", "/cgi-bin/stable_token", "/wxa/getwxacodeunlimit"]
    assert placement.qr_image


def test_the_admin_action_queues_a_request_per_code_that_asks_wechat_again_and_clears_the_error(
    client, marketer, fake_wechat, oa_app, campaign, django_capture_on_commit_callbacks
):
    fake_wechat.qr_errors = [45009]
    placement = services.placement_create(
        Placement(campaign=campaign, name="Door", qr_kind=Placement.QRKind.OA_PERMANENT, wechat_app=oa_app)
    )
    assert placement.qr_request_status == Placement.QRRequest.FAILED
    client.force_login(marketer)
    calls_before = len(fake_wechat.calls)

    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            "/admin/campaigns/placement/",
            {"action": "request_wechat_qr_again", "_selected_action": [placement.pk]},
            follow=True,
        )

    assert len(fake_wechat.calls) == calls_before  # the page did not wait on WeChat
    assert len(queued) == 1
    assert "Asked WeChat for 1 code(s)" in response.content.decode()
    placement.refresh_from_db()
    assert placement.qr_request_status == Placement.QRRequest.PENDING

    assert tasks.issue_wechat_qr(placement.pk) is True  # what the worker runs

    placement.refresh_from_db()
    assert placement.qr_error == ""
    assert placement.qr_url.endswith(placement.scene)
    assert (placement.qr_request_status, placement.qr_request_attempts) == (Placement.QRRequest.ISSUED, 2)


def test_switching_a_placement_to_an_official_account_code_in_admin_requests_it(
    client, marketer, fake_wechat, oa_app, campaign, make_placement
):
    placement = make_placement("Door")
    client.force_login(marketer)

    response = client.post(
        f"/admin/campaigns/placement/{placement.pk}/change/",
        {
            "campaign": campaign.pk,
            "name": "Door",
            "kind": "poster",
            "qr_kind": "oa_temporary",
            "wechat_app": oa_app.pk,
        },
    )

    assert response.status_code == 302
    placement.refresh_from_db()
    assert placement.qr_url == f"http://weixin.qq.com/q/fake-{placement.scene}"
    assert placement.qr_expires_at is not None


def test_a_refusal_while_saving_in_admin_is_shown_to_the_marketer(client, marketer, fake_wechat, oa_app, campaign):
    fake_wechat.qr_errors = [40053]
    client.force_login(marketer)

    response = client.post(
        "/admin/campaigns/placement/add/",
        {"campaign": campaign.pk, "name": "Door", "kind": "poster", "qr_kind": "oa_permanent", "wechat_app": oa_app.pk},
        follow=True,
    )

    assert "the WeChat QR code was not issued — WeChat /cgi-bin/qrcode/create answered errcode 40053" in (
        response.content.decode()
    )


def test_official_account_placements_added_inline_queue_their_codes_and_the_page_calls_no_wechat(
    client, marketer, fake_wechat, oa_app, campaign, django_capture_on_commit_callbacks
):
    client.force_login(marketer)
    data = {"code": campaign.code, "name": campaign.name, "status": campaign.status, "currency": "CNY"}
    data |= {"placements-TOTAL_FORMS": 2, "placements-INITIAL_FORMS": 0, "creatives-TOTAL_FORMS": 0}
    data |= {"creatives-INITIAL_FORMS": 0}
    for n, name in enumerate(["Door", "Till"]):
        data |= {
            f"placements-{n}-name": name,
            f"placements-{n}-kind": "poster",
            f"placements-{n}-qr_kind": "oa_permanent",
        }
        data |= {f"placements-{n}-wechat_app": oa_app.pk, f"placements-{n}-mp_env_version": "release"}

    with django_capture_on_commit_callbacks() as queued:
        response = client.post(f"/admin/campaigns/campaign/{campaign.pk}/change/", data)

    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert fake_wechat.calls == []
    assert len(queued) == 2  # one request per placement saved
    assert set(campaign.placements.values_list("qr_request_status", flat=True)) == {Placement.QRRequest.PENDING}
