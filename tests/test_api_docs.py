"""The API documentation is served from the app itself and works under our CSP."""

import pytest
from django.test import Client

from tests.browser import ARTIFACTS, chromium, logged_in_proxy, skip_without_chromium


def _operation_ids(client: Client) -> set[str]:
    from yaml import safe_load

    schema = safe_load(client.get("/api/schema/").content)
    return {operation["operationId"] for path in schema["paths"].values() for operation in path.values()}


@pytest.mark.django_db
def test_the_docs_pages_load_their_scripts_from_this_server_only(admin_client):
    for url in ("/api/docs/", "/api/redoc/"):
        page = admin_client.get(url).content.decode()
        assert "sidecar" in page or "/static/" in page
        assert "cdn" not in page.lower() and "googleapis" not in page


@pytest.mark.django_db
def test_the_swagger_page_has_no_inline_script(admin_client):
    page = admin_client.get("/api/docs/").content.decode()
    assert "<script>" not in page  # every script has a src, so CSP `script-src 'self'` allows it
    script = admin_client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


@pytest.mark.browser
@pytest.mark.slow
def test_swagger_ui_and_redoc_render_every_operation_in_headless_chromium(
    live_server, transactional_db, django_user_model, tmp_path
):
    skip_without_chromium()
    admin = django_user_model.objects.create_superuser("docs", "docs@example.com", "pw-docs")
    login = Client()
    login.force_login(admin)
    operations = _operation_ids(login)
    proxy = logged_in_proxy(live_server.url, login.cookies["sessionid"].value)
    base = f"http://127.0.0.1:{proxy.server_address[1]}"
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        swagger = chromium(f"{base}/api/docs/", profile=tmp_path / "profile", budget_ms=20000)
        redoc = chromium(f"{base}/api/redoc/", profile=tmp_path / "profile", budget_ms=20000)
        chromium(
            f"{base}/api/redoc/", profile=tmp_path / "profile", screenshot=ARTIFACTS / "api-redoc.png", budget_ms=20000
        )
    finally:
        proxy.shutdown()

    assert len(operations) > 20
    # Swagger UI gives each operation a block with id "operations-<tag>-<operationId>".
    missing_swagger = {op for op in operations if f'-{op}"' not in swagger}
    assert not missing_swagger, sorted(missing_swagger)[:10]
    # Redoc anchors each operation at "operation/<operationId>".
    missing_redoc = {op for op in operations if f"operation/{op}" not in redoc}
    assert not missing_redoc, sorted(missing_redoc)[:10]
