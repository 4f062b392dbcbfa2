"""Admin as a product surface: every page renders; WeChat secrets are write-only."""

import pytest
from django.urls import reverse

from campaigns.demo import seed_definitions
from campaigns.models import KPI, Campaign, Creative, EventDefinition, FunnelStage, Placement, SourceAlias, WeChatApp

pytestmark = pytest.mark.django_db

MODELS = [KPI, FunnelStage, EventDefinition, WeChatApp, SourceAlias, Campaign, Placement, Creative]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_list_add_and_change_pages_render(admin_client, model):
    seed_definitions(seed=1)
    opts = model._meta
    obj = model.objects.first()

    pages = [
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + "?q=a",
        reverse(f"admin:{opts.app_label}_{opts.model_name}_add"),
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]),
    ]

    assert [admin_client.get(url).status_code for url in pages] == [200, 200, 200, 200]


@pytest.fixture
def app_with_secrets():
    return WeChatApp.objects.create(
        appid="wxsecretive",
        name="Brand OA",
        secret="very-secret-appsecret",
        token="push-token-value",
        encoding_aes_key="A" * 43,
    )


def test_secrets_are_never_shown_back(admin_client, app_with_secrets):
    changelist = admin_client.get(reverse("admin:campaigns_wechatapp_changelist")).content.decode()
    change = admin_client.get(reverse("admin:campaigns_wechatapp_change", args=[app_with_secrets.pk])).content.decode()

    for page in (changelist, change):
        assert "very-secret-appsecret" not in page
        assert "push-token-value" not in page
        assert "A" * 43 not in page
    assert ">set<" in change or "set</div>" in change


def _post_app(admin_client, app, **fields):
    data = {"name": app.name, "appid": app.appid, "kind": app.kind, "original_id": "", **fields}
    return admin_client.post(reverse("admin:campaigns_wechatapp_change", args=[app.pk]), data)


def test_saving_with_empty_secret_fields_keeps_the_stored_secrets(admin_client, app_with_secrets):
    response = _post_app(admin_client, app_with_secrets, name="Renamed")

    assert response.status_code == 302
    app_with_secrets.refresh_from_db()
    assert (app_with_secrets.name, app_with_secrets.secret) == ("Renamed", "very-secret-appsecret")
    assert app_with_secrets.token == "push-token-value"


def test_a_new_secret_replaces_the_old_one_and_drops_the_cached_token(admin_client, app_with_secrets):
    app_with_secrets.access_token = "cached"
    app_with_secrets.save()

    _post_app(admin_client, app_with_secrets, secret="new-secret")

    app_with_secrets.refresh_from_db()
    assert (app_with_secrets.secret, app_with_secrets.access_token) == ("new-secret", "")


def test_clear_secrets_removes_them(admin_client, app_with_secrets):
    _post_app(admin_client, app_with_secrets, clear_secrets="on")

    app_with_secrets.refresh_from_db()
    assert (app_with_secrets.secret, app_with_secrets.token, app_with_secrets.encoding_aes_key) == ("", "", "")


def test_the_changelist_says_set_or_not_set(admin_client, app_with_secrets):
    WeChatApp.objects.create(appid="wxbare", name="Bare")

    response = admin_client.get(reverse("admin:campaigns_wechatapp_changelist"))

    page = response.content.decode()
    assert "not set" in page
    assert '<td class="field-secret_status">set</td>' in page
