"""Journeys through the real app in a real browser, asserting what the person sees."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import button, login, settle, tab

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_wrong_password_is_refused_then_login_works(page, app_url):
    login(page, app_url, "dr.journey", "not the password")
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()
    login(page, app_url, "dr.journey")
    expect(page.get_by_text("Dr Journey")).to_be_visible()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()


def test_demo_mode_and_open_a_patient(page, app_url):
    login(page, app_url, "lead.journey")
    page.get_by_text("Demo mode (synthetic cohort)").click()
    expect(page.get_by_text("DEMO · synthetic patients").first).to_be_visible()
    page.get_by_role("link", name="Patients").click()
    expect(page.get_by_text("12 patients")).to_be_visible()
    button(page, "Open").click()
    expect(page.get_by_role("tab", name="Trajectories")).to_be_visible()


def test_role_without_access_is_refused_a_page(page, app_url):
    login(page, app_url, "qa.journey")
    page.goto(app_url + "/patients")
    expect(page.get_by_role("heading", name="Patients")).to_have_count(0)


def _new_patient(page, app_url, pseudonym):
    login(page, app_url, "dr.journey")
    settle(page)
    page.get_by_text("New patient").click()
    page.get_by_role("textbox", name="Pseudonymous id").fill(pseudonym)
    page.get_by_role("checkbox", name="The patient consents to ML analysis of their notes").check(force=True)
    expect(page.get_by_role("checkbox", name="The patient consents to ML analysis of their notes")).to_be_checked()
    button(page, "Create patient").click()
    expect(page.get_by_text(f"Created {pseudonym}.")).to_be_visible()
    page.get_by_role("link", name="Patient", exact=True).click()
    expect(page.get_by_role("heading", name=pseudonym)).to_be_visible()


def test_add_visits_by_paste_and_upload_and_acknowledge_crisis(page, app_url, tmp_path):
    _new_patient(page, app_url, "J-PASTE-1")
    tab(page, "Add visits").click()
    page.get_by_role("textbox", name="Session note").fill(
        "Session 2. Low mood. She said she has been thinking about taking an overdose.")
    button(page, "Add visit").click()
    expect(page.get_by_text("Visit added.")).to_be_visible()
    expect(page.get_by_text("Crisis language detected")).to_be_visible()
    button(page, "I have seen this and will act on it").click()
    expect(page.get_by_text("acknowledged.")).to_be_visible()

    note = tmp_path / "visit.txt"
    note.write_text("Session 3. Mood brighter, saw two friends, sleeping better.", encoding="cp1252")
    tab(page, "Add visits").click()
    tab(page, "Upload a note").click()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").first.set_input_files(str(note))
    button(page, "Add visit from file").click()
    expect(page.get_by_text("Visit added from visit.txt.")).to_be_visible()
    tab(page, "Visits").click()
    expect(page.get_by_text("Mood brighter, saw two friends").first).to_be_visible()


def test_analyse_sign_off_then_qa_flags_and_exports(page, app_url):
    _new_patient(page, app_url, "J-ANALYSE-1")
    for text in ["Session 1. Feels connected to friends, sleeping well, mood bright.",
                 "Session 2. Has stopped seeing anyone, stays in alone, feels empty and hopeless most days."]:
        tab(page, "Add visits").click()
        page.get_by_role("textbox", name="Session note").fill(text)
        button(page, "Add visit").click()
        expect(page.get_by_text("Visit added.")).to_be_visible()
    tab(page, "Visits").click()
    button(page, "Analyse unanalysed visits").click()
    expect(page.get_by_text("Social isolation (0…4)").first).to_be_visible(timeout=300_000)
    # One language-model task on the latest visit: label, probability and streamed rationale.
    settle(page)
    button(page, "Run").click()
    expect(page.get_by_text("Depression (IMHI DR):").first).to_be_visible(timeout=600_000)
    expect(page.get_by_text("Rationale (model text):").first).to_be_visible()
    expect(page.get_by_text("Decision support, not a diagnosis.").first).to_be_visible()
    settle(page)
    tab(page, "Trajectories").click()
    expect(page.locator(".js-plotly-plot:visible").first).to_be_visible()
    tab(page, "Visits").click()
    button(page, "Sign off").click()
    expect(page.get_by_text("✅ signed").first).to_be_visible()
    page.screenshot(path="test-artifacts/journeys/analysis_signed.png", full_page=True)

    # The QA reviewer flags an output and finds it in the export.
    page.get_by_role("button", name="Log out").click()
    login(page, app_url, "qa.journey")
    page.get_by_role("link", name="Review queue").click()
    button(page, "Claim next").click()
    settle(page)
    page.get_by_text("flag", exact=True).first.click()
    page.get_by_role("textbox", name="Note (on every decision)").fill("Rationale cites isolation not in note")
    button(page, "Submit").click()
    settle(page)
    tab(page, "Export").click()
    button(page, "Prepare export").click()
    expect(page.get_by_text("1 rows")).to_be_visible()
    with page.expect_download() as download:
        button(page, "Download").click()
    content = open(download.value.path(), encoding="utf-8").read()
    assert "Rationale cites isolation not in note" in content
