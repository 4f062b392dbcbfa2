"""Imports of ad spend and WeChat statistics (SPEC E5): service, command, API and admin."""

import contextlib
import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns.models import Creative
from events.imports import ImportFormatError, get_spec, import_csv, replay_rejected_import
from events.imports.fields import parse_count, parse_date, parse_money, parse_rate, parse_seconds
from events.models import AdSpend, ArticleStat, MiniProgramPageStat, OAUserSummary, RejectedRow

pytestmark = pytest.mark.django_db

AD_SPEND_CSV = """date,campaign,ad_group,creative,spend,impressions,clicks,reach
2025-11-01,23Q4-Sale,Moments 25-34,Red poster,120.50,10000,150,8000
2025-11-01,23Q4-Sale,Moments 25-34,Blue poster,80.00,6000,60,5000
2025-11-02,23Q4-Sale,Moments 25-34,Red poster,130.00,11000,140,9000
"""

SAMPLES = {
    "ad_spend": (AD_SPEND_CSV, AdSpend, 3),
    "oa_user_summary": (
        "app_id,date,user_source,new_users,cancelled_users,cumulative_users\n"
        "wxoa123,2025-11-01,30,40,3,1200\n"
        "wxoa123,2025-11-01,0,10,1,\n",
        OAUserSummary,
        2,
    ),
    "article_stats": (
        "app_id,date,msgid,title,published_on,reads,read_users,completion_rate,shares,favourites\n"
        "wxoa123,2025-11-01,2247483647_1,Autumn sale,2025-11-01,900,700,63%,40,12\n",
        ArticleStat,
        1,
    ),
    "mp_page_stats": (
        "app_id,date,page_path,visits,visitors,stay_time_seconds,entries,exits,shares\n"
        "wxmp456,20251101,pages/index/index,5000,3000,12.5,2500,1200,30\n"
        "wxmp456,20251101,pages/cart/cart,900,600,30.25,20,300,1\n",
        MiniProgramPageStat,
        2,
    ),
}


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_each_kind_imports_its_rows(kind, campaign):
    text, model, expected = SAMPLES[kind]

    summary = import_csv(kind, text.encode())

    assert (summary.rows, summary.created, summary.updated, summary.rejected) == (expected, expected, 0, 0)
    assert model.objects.count() == expected


def test_values_are_parsed_into_their_types(campaign):
    import_csv("article_stats", SAMPLES["article_stats"][0].encode())
    import_csv("mp_page_stats", SAMPLES["mp_page_stats"][0].encode())

    article = ArticleStat.objects.get()
    page = MiniProgramPageStat.objects.get(page_path="pages/index/index")
    assert article.completion_rate == Decimal("0.63")
    assert article.published_on == dt.date(2025, 11, 1)
    assert page.date == dt.date(2025, 11, 1)
    assert page.stay_time_seconds == Decimal("12.50")


def test_ad_spend_links_the_campaign_by_code_and_the_creative_by_name_within_it(campaign):
    creative = Creative.objects.create(campaign=campaign, name="Red poster", lander_type="mini_program")

    import_csv("ad_spend", AD_SPEND_CSV.encode())

    red = AdSpend.objects.get(date=dt.date(2025, 11, 1), creative_name="Red poster")
    blue = AdSpend.objects.get(creative_name="Blue poster")
    assert red.campaign == campaign
    assert red.creative == creative
    assert blue.campaign == campaign
    assert blue.creative is None


def test_an_unknown_campaign_code_is_kept_unlinked_and_named_in_the_summary(campaign):
    text = "date,campaign,spend\n2025-11-01,24Q1-Typo,10\n"

    summary = import_csv("ad_spend", text.encode())

    row = AdSpend.objects.get()
    assert (row.campaign_code, row.campaign) == ("24Q1-Typo", None)
    assert summary.unmatched == ["24Q1-Typo"]
    assert "24Q1-Typo" in str(summary)


def test_tencent_ads_column_names_are_accepted_and_fen_is_turned_into_yuan(campaign):
    text = (
        "Date,Campaign Name,adgroup_name,ad_name,cost_fen,view_count,valid_click_count,view_user_count\n"
        "2025-11-01,23Q4-Sale,g1,c1,12345,1000,20,900\n"
    )

    summary = import_csv("ad_spend", text.encode())

    row = AdSpend.objects.get()
    assert summary.created == 1
    assert (row.spend, row.impressions, row.clicks, row.reach) == (Decimal("123.45"), 1000, 20, 900)
    assert (row.ad_group, row.creative_name) == ("g1", "c1")


def test_reimporting_a_file_replaces_rows_and_never_doubles_them(campaign):
    import_csv("ad_spend", AD_SPEND_CSV.encode())
    corrected = AD_SPEND_CSV.replace("120.50,10000,150", "99.00,9000,100")

    summary = import_csv("ad_spend", corrected.encode())

    assert (summary.created, summary.updated) == (0, 3)
    assert AdSpend.objects.count() == 3
    red = AdSpend.objects.get(date=dt.date(2025, 11, 1), creative_name="Red poster")
    assert (red.spend, red.impressions, red.clicks) == (Decimal("99.00"), 9000, 100)


def test_the_same_key_twice_in_one_file_keeps_the_later_line(campaign):
    text = "date,campaign,spend\n2025-11-01,23Q4-Sale,10\n2025-11-01,23Q4-Sale,12\n"

    summary = import_csv("ad_spend", text.encode())

    assert (summary.created, summary.updated) == (1, 1)
    assert AdSpend.objects.get().spend == Decimal("12.00")


def test_rows_are_written_in_chunks_with_the_same_result(campaign):
    lines = [f"2025-11-0{day},23Q4-Sale,g,c{n},{n}.00" for day in (1, 2) for n in range(3)]
    text = "date,campaign,ad_group,creative,spend\n" + "\n".join(lines + lines[:2]) + "\n"

    summary = import_csv("ad_spend", text.encode(), chunk_size=2)

    assert (summary.rows, summary.created, summary.updated) == (8, 6, 2)
    assert AdSpend.objects.count() == 6


def test_bad_rows_are_reported_by_line_number_and_kept_as_rejected_rows(campaign):
    text = (
        "date,campaign,spend,impressions,clicks\n"
        "2025-11-01,23Q4-Sale,10,100,5\n"
        "2025-13-01,23Q4-Sale,10,100,5\n"
        "\n"
        "2025-11-02,23Q4-Sale,ten,100,5\n"
        "2025-11-03,23Q4-Sale,10,100,500\n"
        "2025-11-04,,10,100,5\n"
        "2025-11-05,23Q4-Sale,10,100\n"
    )

    summary = import_csv("ad_spend", text.encode())

    assert (summary.created, summary.rejected) == (1, 5)
    assert summary.rejected_line_numbers == [3, 5, 6, 7, 8]
    errors = {item.line: item.errors for item in summary.rejected_lines}
    assert "not a date" in errors[3]["date"]
    assert "not an amount" in errors[5]["spend"]
    assert "more than 100 impressions" in errors[6]["clicks"]
    assert errors[7] == {"campaign": "is required."}
    assert "4 values but the header has 5 columns" in errors[8]["line"]
    kept = RejectedRow.objects.filter(channel="import_ad_spend").order_by("row_index")
    assert [row.row_index for row in kept] == [3, 5, 6, 7, 8]
    assert kept[1].raw == "date,campaign,spend,impressions,clicks\n2025-11-02,23Q4-Sale,ten,100,5\n"
    assert kept[1].errors == errors[5]


def test_importing_the_same_bad_file_again_keeps_its_bad_lines_once(campaign):
    text = b"date,campaign,spend\n2025-11-01,23Q4-Sale,ten\n2025-11-02,23Q4-Sale,1\n"
    import_csv("ad_spend", text)

    summary = import_csv("ad_spend", text)

    assert summary.rejected_line_numbers == [2]
    assert RejectedRow.objects.filter(channel="import_ad_spend").count() == 1


def test_a_fixed_rejected_line_can_be_replayed_into_its_table(campaign, analyst):
    import_csv("ad_spend", b"date,campaign,spend\n2025-11-01,23Q4-Sale,ten\n")
    rejected = RejectedRow.objects.get(channel="import_ad_spend")
    rejected.raw = rejected.raw.replace("ten", "10")

    replayed = replay_rejected_import(rejected, user=analyst)

    rejected.refresh_from_db()
    assert replayed is True
    assert rejected.status == RejectedRow.Status.REPLAYED
    assert AdSpend.objects.get().spend == Decimal("10.00")
    assert RejectedRow.objects.count() == 1


def test_a_replayed_line_that_is_still_bad_stays_open_with_the_new_reason(campaign):
    import_csv("ad_spend", b"date,campaign,spend\n2025-11-01,23Q4-Sale,ten\n")
    rejected = RejectedRow.objects.get(channel="import_ad_spend")
    rejected.raw = rejected.raw.replace("ten", "-1")

    replayed = replay_rejected_import(rejected)

    rejected.refresh_from_db()
    assert replayed is False
    assert rejected.status == RejectedRow.Status.OPEN
    assert rejected.errors == {"spend": "'-1' is negative."}
    assert RejectedRow.objects.count() == 1


def test_a_quoted_field_over_two_lines_keeps_line_numbers_right(campaign):
    text = 'date,campaign,ad_group,spend\n2025-11-01,23Q4-Sale,"two\nlines",1\n2025-11-02,23Q4-Sale,g,x\n'

    summary = import_csv("ad_spend", text.encode())

    assert summary.created == 1
    assert summary.rejected_line_numbers == [4]


def test_a_file_without_a_required_column_is_refused_before_writing_anything(campaign):
    text = "date,campaign,impressions\n2025-11-01,23Q4-Sale,100\n"

    with pytest.raises(ImportFormatError, match=r"Missing required column.*spend"):
        import_csv("ad_spend", text.encode())

    assert AdSpend.objects.count() == 0
    assert RejectedRow.objects.count() == 0


def test_two_columns_meaning_the_same_field_are_refused(campaign):
    text = "date,campaign,spend,cost\n2025-11-01,23Q4-Sale,1,2\n"

    with pytest.raises(ImportFormatError, match="both mean 'spend'"):
        import_csv("ad_spend", text.encode())


def test_a_datacube_export_without_app_id_takes_the_app_id_given_for_the_file():
    text = "ref_date,user_source,new_user,cancel_user\n2025-11-01,30,40,3\n"

    summary = import_csv("oa_user_summary", text.encode(), defaults={"app_id": "wxoa123"})

    row = OAUserSummary.objects.get()
    assert summary.created == 1
    assert (row.app_id, row.user_source, row.new_users, row.cancelled_users) == ("wxoa123", "30", 40, 3)


def test_a_gbk_tab_separated_export_with_chinese_headers_is_read(campaign):
    text = "日期\t计划名称\t花费\t曝光量\t点击量\n2025-11-01\t23Q4-Sale\t1,000.00\t50000\t500\n"

    summary = import_csv("ad_spend", text.encode("gbk"))

    assert summary.created == 1
    assert AdSpend.objects.get().spend == Decimal("1000.00")


def test_unknown_columns_are_ignored_and_listed(campaign):
    text = "date,campaign,spend,ctr\n2025-11-01,23Q4-Sale,1,0.01\n"

    summary = import_csv("ad_spend", text.encode())

    assert summary.created == 1
    assert summary.ignored_columns == ["ctr"]


# --- command ------------------------------------------------------------------------------


def test_the_command_imports_a_file_and_prints_a_summary(tmp_path, capsys, campaign):
    path = tmp_path / "spend.csv"
    path.write_text(AD_SPEND_CSV + "2025-11-03,23Q4-Sale,g,c,oops,1,1,1\n")

    call_command("import_ad_spend", str(path), "--no-progress")

    out, err = capsys.readouterr()
    assert "ad_spend: 4 rows — 3 created, 0 updated, 1 rejected (lines 5)" in out
    assert "line 5: spend:" in err
    assert AdSpend.objects.count() == 3


def test_the_command_takes_an_app_id_for_the_whole_file(tmp_path, capsys):
    path = tmp_path / "pages.csv"
    path.write_text("ref_date,page_path,page_visit_pv,page_visit_uv\n20251101,pages/index/index,10,8\n")

    call_command("import_mp_page_stats", str(path), "--app-id", "wxmp456", "--no-progress")

    assert MiniProgramPageStat.objects.get().app_id == "wxmp456"


def test_the_command_refuses_a_missing_file_with_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*nope\.csv"):
        call_command("import_article_stats", str(tmp_path / "nope.csv"))


def test_the_command_refuses_a_file_with_a_bad_header(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("when,what\n1,2\n")

    with pytest.raises(CommandError, match="Missing required column"):
        call_command("import_oa_user_summary", str(path), "--no-progress")


# --- API ----------------------------------------------------------------------------------


@pytest.fixture
def marketer_client(marketer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + Token.objects.create(user=marketer).key)
    return client


def test_the_api_imports_a_csv_body_and_answers_the_summary(marketer_client, campaign):
    body = AD_SPEND_CSV + "2025-11-03,23Q4-Sale,g,c,-5,1,1,1\n"

    response = marketer_client.post("/api/v1/imports/ad_spend", body, content_type="text/csv")

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["created"], data["updated"], data["rejected"]) == (3, 0, 1)
    assert data["rejected_lines"] == [{"line": 5, "errors": {"spend": "'-5' is negative."}}]
    assert AdSpend.objects.count() == 3


def test_the_api_accepts_a_multipart_file(marketer_client, campaign):
    upload = SimpleUploadedFile("spend.csv", AD_SPEND_CSV.encode(), content_type="text/csv")

    response = marketer_client.post("/api/v1/imports/ad_spend", {"file": upload}, format="multipart")

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 3


def test_the_api_needs_the_tables_add_permission(marketer_client):
    # Marketers import ad spend; WeChat statistics are the analysts'.
    text = SAMPLES["oa_user_summary"][0]

    response = marketer_client.post("/api/v1/imports/oa_user_summary", text, content_type="text/csv")

    assert response.status_code == 403
    assert OAUserSummary.objects.count() == 0


def test_the_api_refuses_anonymous_callers():
    response = APIClient().post("/api/v1/imports/ad_spend", AD_SPEND_CSV, content_type="text/csv")

    assert response.status_code in (401, 403)
    assert AdSpend.objects.count() == 0


def test_the_api_answers_404_for_an_unknown_kind(marketer_client):
    response = marketer_client.post("/api/v1/imports/orders", "a,b\n1,2\n", content_type="text/csv")

    assert response.status_code == 404


def test_the_api_answers_400_for_a_file_it_cannot_read(marketer_client):
    response = marketer_client.post("/api/v1/imports/ad_spend", "when,what\n1,2\n", content_type="text/csv")

    assert response.status_code == 400
    assert "Missing required column" in response.json()["detail"]


def test_the_api_answers_400_without_a_file(marketer_client):
    response = marketer_client.post("/api/v1/imports/ad_spend", {}, format="multipart")

    assert response.status_code == 400


def test_the_api_answers_400_when_the_file_field_is_plain_text(marketer_client):
    response = marketer_client.post("/api/v1/imports/ad_spend", {"file": "not,a,file"}, format="multipart")

    assert response.status_code == 400


def test_the_api_takes_an_app_id_for_the_whole_file(make_user):
    analyst = make_user("ana", "Analyst")
    client = APIClient()
    client.force_authenticate(analyst)
    text = "ref_date,msgid,int_page_read_count,int_page_read_user\n2025-11-01,1_1,10,8\n"

    response = client.post("/api/v1/imports/article_stats?app_id=wxoa123", text, content_type="text/csv")

    assert response.status_code == 200, response.content
    assert ArticleStat.objects.get().app_id == "wxoa123"


# --- admin --------------------------------------------------------------------------------


def test_the_changelist_offers_an_import_button(client, marketer):
    client.force_login(marketer)

    response = client.get("/admin/events/adspend/")

    assert response.status_code == 200
    assert b'href="/admin/events/adspend/import/"' in response.content


def test_the_admin_upload_page_imports_and_shows_the_bad_lines(client, marketer, campaign):
    client.force_login(marketer)
    upload = SimpleUploadedFile("spend.csv", (AD_SPEND_CSV + "2025-11-03,23Q4-Sale,g,c,1,1,5,1\n").encode())

    response = client.post("/admin/events/adspend/import/", {"file": upload})

    assert response.status_code == 200
    page = response.content.decode()
    assert "<th>Created</th><td>3</td>" in page
    assert "<th>Rejected</th><td>1</td>" in page
    assert "<td>5</td><td>clicks</td><td>5 clicks is more than 1 impressions.</td>" in page
    assert AdSpend.objects.count() == 3


def test_the_admin_template_file_imports_as_it_is(client, marketer, campaign):
    client.force_login(marketer)

    template = client.get("/admin/events/adspend/import/template.csv")
    summary = import_csv("ad_spend", template.content)

    assert template["Content-Type"].startswith("text/csv")
    assert (summary.created, summary.rejected) == (1, 0)


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_each_kinds_example_line_is_valid(kind, campaign):
    spec = get_spec(kind)

    summary = import_csv(kind, f"{spec.header_line}\n{spec.example}\n".encode())

    assert (summary.created, summary.rejected) == (1, 0)


def test_the_admin_upload_page_shows_a_file_error_on_the_form(client, marketer):
    client.force_login(marketer)
    upload = SimpleUploadedFile("spend.csv", b"when,what\n1,2\n")

    response = client.post("/admin/events/adspend/import/", {"file": upload})

    assert response.status_code == 200
    assert "Missing required column" in response.content.decode()


def test_the_admin_upload_page_needs_the_add_permission(client, marketer):
    client.force_login(marketer)

    response = client.get("/admin/events/oausersummary/import/")

    assert response.status_code == 403


@pytest.mark.parametrize("model", ["adspend", "oausersummary", "articlestat", "miniprogrampagestat"])
def test_each_imported_table_has_a_working_admin_list(admin_client, model, campaign):
    for kind, (text, _, _) in SAMPLES.items():
        import_csv(kind, text.encode())

    response = admin_client.get(f"/admin/events/{model}/", {"q": "a"})
    detail = admin_client.get(f"/admin/events/{model}/import/")

    assert response.status_code == 200
    assert detail.status_code == 200


# --- cell parsers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-01", dt.date(2025, 11, 1)),
        ("20251101", dt.date(2025, 11, 1)),
        ("2025/11/1", dt.date(2025, 11, 1)),
        ("2025-11-01 00:00:00", dt.date(2025, 11, 1)),
        ("2025-11-01T08:00:00+08:00", dt.date(2025, 11, 1)),
    ],
)
def test_dates_are_read_in_the_forms_exports_use(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2025-13-01", "2025110", "2025-W01-1", "01/11/2025", "yesterday"])
def test_other_date_forms_are_refused_with_the_cell_in_the_message(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_date(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_cell_parsers_only_ever_raise_value_error(text):
    for parse in (parse_date, parse_count, parse_money, parse_rate, parse_seconds):
        with contextlib.suppress(ValueError):
            parse(text)
