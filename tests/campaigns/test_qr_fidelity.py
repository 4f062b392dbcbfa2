"""WeChat codes as WeChat documents them: Mini Program pages without a query string or a
leading slash, env_version/check_path offered, and temporary Official Account codes renewed
while their campaign runs (WECHAT.md §1, §3.1), against the fake WeChat server."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns import services
from campaigns.models import Placement
from campaigns.tasks import renew_temporary_qr_code
from campaigns.wechat_api import WeChatAPIError

pytestmark = pytest.mark.django_db


# --- Mini Program codes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("pages/goods/detail?id=42", "query string"),
        ("pages/goods/detail?", "query string"),
        ("/pages/index/index", "leading slash"),
    ],
)
def test_a_mini_program_page_wechat_would_refuse_is_refused_with_the_reason(mp_app, campaign, page, reason):
    placement = Placement(campaign=campaign, name="Parcel", qr_kind=Placement.QRKind.MINI_PROGRAM, wechat_app=mp_app)
    placement.mp_page = page

    with pytest.raises(ValidationError) as refused:
        placement.full_clean(exclude=["scene"])

    assert reason in refused.value.message_dict["mp_page"][0]


def test_a_bad_page_saved_before_validation_never_reaches_wechat(fake_wechat, mp_app, campaign, media_storage):
    placement = services.placement_create(
        Placement(campaign=campaign, name="Parcel", qr_kind=Placement.QRKind.MINI_PROGRAM, wechat_app=mp_app),
        request_wechat=False,
    )
    Placement.objects.filter(pk=placement.pk).update(mp_page="pages/goods/detail?id=42")
    placement.refresh_from_db()

    with pytest.raises(WeChatAPIError, match="not sent"):
        services.request_wechat_qr(placement)

    placement.refresh_from_db()
    assert "query string" in placement.qr_error
    assert "/wxa/getwxacodeunlimit" not in fake_wechat.paths()


def test_a_code_for_the_trial_version_asks_wechat_for_env_version_trial_and_check_path(
    fake_wechat, mp_app, campaign, media_storage
):
    services.placement_create(
        Placement(
            campaign=campaign,
            name="Parcel insert (test)",
            qr_kind=Placement.QRKind.MINI_PROGRAM,
            wechat_app=mp_app,
            mp_page="pages/index/index",
            mp_env_version=Placement.MiniProgramVersion.TRIAL,
            mp_check_path=True,
        )
    )

    path, _, body = fake_wechat.calls[-1]
    assert path == "/wxa/getwxacodeunlimit"
    assert (body["env_version"], body["check_path"], body["page"]) == ("trial", True, "pages/index/index")


def test_switching_a_code_from_trial_to_release_asks_wechat_for_a_new_one(fake_wechat, mp_app, campaign, media_storage):
    placement = services.placement_create(
        Placement(
            campaign=campaign,
            name="Parcel",
            qr_kind=Placement.QRKind.MINI_PROGRAM,
            wechat_app=mp_app,
            mp_env_version=Placement.MiniProgramVersion.TRIAL,
        )
    )

    placement.mp_env_version = Placement.MiniProgramVersion.RELEASE
    services.placement_update(placement, changed={"mp_env_version"})

    assert [body["env_version"] for path, _, body in fake_wechat.calls if path == "/wxa/getwxacodeunlimit"] == [
        "trial",
        "release",
    ]


def test_the_api_offers_env_version_and_refuses_a_page_with_a_query(api_client_for, marketer, mp_app, campaign):
    client = api_client_for(marketer)
    base = {"campaign": campaign.pk, "qr_kind": "mini_program", "wechat_app": mp_app.pk}

    refused = client.post("/api/v1/placements/", {**base, "name": "A", "mp_page": "pages/a/a?x=1"}, format="json")
    accepted = client.post(
        "/api/v1/placements/",
        {**base, "name": "B", "mp_page": "pages/a/a", "mp_env_version": "develop"},
        format="json",
    )

    assert refused.status_code == 400
    assert "query string" in str(refused.json())
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["mp_env_version"] == "develop"


# --- renewing temporary Official Account codes -------------------------------------------


def _temporary(oa_app, campaign, *, expires_in: timedelta, name: str = "Mall poster", kind: str = "poster"):
    placement = services.placement_create(
        Placement(campaign=campaign, name=name, kind=kind, qr_kind=Placement.QRKind.OA_TEMPORARY, wechat_app=oa_app),
        request_wechat=False,
    )
    Placement.objects.filter(pk=placement.pk).update(
        qr_url="http://weixin.qq.com/q/old",
        qr_ticket="gQ-old",
        qr_expires_at=timezone.now() + expires_in,
    )
    return Placement.objects.get(pk=placement.pk)


def test_a_temporary_code_expiring_while_its_campaign_runs_is_renewed(fake_wechat, oa_app, campaign):
    campaign.ends_on = timezone.localdate() + timedelta(days=20)
    campaign.save()
    placement = _temporary(oa_app, campaign, expires_in=timedelta(days=2))

    renewed = renew_temporary_qr_code(placement.pk)

    placement.refresh_from_db()
    assert renewed is True
    path, _, body = fake_wechat.calls[-1]
    # The documented qrcode/create body for a temporary string scene, lasting until the campaign ends.
    assert path == "/cgi-bin/qrcode/create"
    assert body["action_name"] == "QR_STR_SCENE"
    assert body["action_info"] == {"scene": {"scene_str": placement.scene}}
    assert 20 * 86400 < body["expire_seconds"] <= 21 * 86400
    assert (placement.qr_ticket, placement.qr_renewals) == (f"gQ-{placement.scene}", 1)
    assert placement.qr_renewed_at is not None
    assert placement.qr_expires_at > timezone.now() + timedelta(days=20)


def test_codes_that_do_not_need_renewing_are_left_alone(oa_app, campaign, marketer):
    from campaigns.models import Campaign

    campaign.ends_on = timezone.localdate() + timedelta(days=20)
    campaign.save()
    due = _temporary(oa_app, campaign, expires_in=timedelta(days=2), name="due")
    _temporary(oa_app, campaign, expires_in=timedelta(days=10), name="not yet")
    paused = Campaign.objects.create(code="Paused", name="Paused", status=Campaign.Status.PAUSED, owner=marketer)
    _temporary(oa_app, paused, expires_in=timedelta(days=1), name="paused campaign")
    ending = Campaign.objects.create(
        code="Ending", name="Ending", status=Campaign.Status.ACTIVE, ends_on=timezone.localdate(), owner=marketer
    )
    # Issued to the end of the campaign's last day: renewing it would change nothing.
    last_day = _temporary(oa_app, ending, expires_in=timedelta(hours=1), name="lives to the end")
    Placement.objects.filter(pk=last_day.pk).update(qr_expires_at=services._campaign_end(ending))

    assert services.temporary_codes_due() == [due.pk]


def test_a_renewal_wechat_refuses_is_kept_on_the_placement(fake_wechat, oa_app, campaign):
    placement = _temporary(oa_app, campaign, expires_in=timedelta(days=1))
    fake_wechat.qr_errors = [45009]

    renewed = renew_temporary_qr_code(placement.pk)

    placement.refresh_from_db()
    assert renewed is False
    assert "45009" in placement.qr_error
    assert placement.qr_renewals == 0


def test_the_renewal_runs_from_the_one_beat_schedule():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="campaigns.tasks.renew_temporary_qr_codes")

    assert task.expire_seconds and task.enabled
    assert str(task.crontab.timezone) == "Asia/Shanghai"


def test_admin_marks_renewed_printed_codes_and_suggests_permanent_ones(client, marketer, fake_wechat, oa_app, campaign):
    placement = _temporary(oa_app, campaign, expires_in=timedelta(days=1))
    renew_temporary_qr_code(placement.pk)
    client.force_login(marketer)

    page = client.get("/admin/campaigns/placement/").content.decode()
    renewed_only = client.get("/admin/campaigns/placement/?qr_expiry=renewed").content.decode()

    assert "renewed 1×" in page
    assert "printed copies of its old code no longer work" in page
    assert "Official Account, permanent" in page
    assert placement.name in renewed_only


def test_saving_a_poster_with_a_temporary_code_warns_about_print(client, marketer, fake_wechat, oa_app, campaign):
    client.force_login(marketer)

    response = client.post(
        "/admin/campaigns/placement/add/",
        {
            "campaign": campaign.pk,
            "name": "Mall poster",
            "kind": "poster",
            "qr_kind": "oa_temporary",
            "wechat_app": oa_app.pk,
            "mp_env_version": "release",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "For print, use “Official Account, permanent”" in response.content.decode()
