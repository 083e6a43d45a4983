"""Journeys through the real app in a real browser, asserting what the person sees."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    button,
    login,
    nav_link,
    nav_links,
    navigate_in_session,
    save_screenshot,
    settle,
    tab,
    tick,
)

# The five heads as the person sees them: (widget key suffix, trajectory title, score-chart label with range).
HEADS = [
    ("sentiment", "Sentiment", "Sentiment (-1…1)"),
    ("family_history", "Family history", "Family history (0…1)"),
    ("trauma", "Trauma", "Trauma (0…7)"),
    ("isolation", "Social isolation", "Social isolation (0…4)"),
    ("support", "Support system", "Support system (0…4)"),
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


# A step that may load a model on a cold start (the encoder, for the crisis check's semantic layer on save).
MODEL_WAIT_MS = 90_000


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
    expect(page.get_by_role("heading", name=re.compile(r"^DEMO-\d{3} · \S"))).to_be_visible(timeout=MODEL_WAIT_MS)
    # A demo patient's visits are scored as the page opens (a lead cannot run analyses); the first time, the
    # app process loads the encoder as well.
    expect(page.get_by_role("tab", name="Trajectories")).to_be_visible(timeout=180_000)
    settle(page)
    # The visit list: the first page of 10 visits, newest first and open on its (synthetic) note, all scored.
    visits = page.get_by_test_id("stExpander").filter(has_text=re.compile(r"\d{4}-\d\d-\d\d"))
    expect(visits).to_have_count(10, timeout=MODEL_WAIT_MS)  # a loaded machine draws ten expanders slowly
    expect(visits.filter(has_text="not analysed")).to_have_count(0)
    expect(visits.first.get_by_text(re.compile(r"^Source: demo"))).to_be_visible()
    expect(page.locator("[class*=st-key-heads_chart_]:visible .js-plotly-plot g.yaxislayer-above text")).to_have_count(5)


# Pages each role must not reach (app/navigation.py: the navigation holds only the role's pages).
CLINICAL_PAGES = ("Patients", "Patient", "Cohort")


def test_role_without_access_is_refused_a_page(page, app_url):
    # Positive case first, so the checks below demonstrably tell roles apart: a psychiatrist has the clinical
    # pages in the sidebar and reaches a permitted page by its address within the session.
    login(page, app_url, "dr.journey")
    expect(page.get_by_text("Dr Journey · Psychiatrist")).to_be_visible()
    expect(nav_link(page, "Patients")).to_be_visible()
    expect(nav_link(page, "Models")).to_be_visible()
    expect(nav_link(page, "Review queue")).to_have_count(0)
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
    navigate_in_session(page, "/models")
    expect(page).to_have_url(re.compile(r"/models$"))
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    # The QA reviewer: only the Quality pages are offered, and no clinical page is reachable by its address.
    login(page, app_url, "qa.journey")
    expect(page.get_by_text("QA Journey · QA reviewer")).to_be_visible()
    expect(page.get_by_role("heading", name="Review queue", exact=True)).to_be_visible()
    # The links' text starts with the material icon's name ("fact_checkReview queue").
    expect(nav_links(page)).to_have_text([re.compile(r"^[a-z_]*Review queue$"), re.compile(r"^[a-z_]*Quality$"),
                                          re.compile(r"^[a-z_]*Account$")])
    for name in (*CLINICAL_PAGES, "Models"):
        expect(nav_link(page, name)).to_have_count(0)

    for path in ("/patients", "/models"):
        navigate_in_session(page, path)
        # Refused: the address falls back to the app's root and the reviewer stays on the Review queue.
        expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))
        expect(page.get_by_role("heading", name="Review queue", exact=True)).to_be_visible()
        expect(page.get_by_role("heading", name="Patients", exact=True)).to_have_count(0)
        expect(page.get_by_role("heading", name="Models", exact=True)).to_have_count(0)
        expect(page.get_by_role("textbox", name="Search pseudonym or name")).to_have_count(0)

    # A fresh load of the patients address goes through the login form and still ends on the Review queue.
    page.get_by_role("button", name="Log out").click()
    login(page, app_url, "qa.journey", path="/patients")
    expect(page.get_by_text("QA Journey · QA reviewer")).to_be_visible()
    settle(page)
    expect(page.get_by_role("heading", name="Review queue", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_have_count(0)
    expect(page.get_by_role("textbox", name="Search pseudonym or name")).to_have_count(0)


def test_deep_link_opens_its_page_after_login(page, app_url):
    """A link to a page, opened logged out, goes through the login form and then to that page, not the first one."""
    login(page, app_url, "dr.journey", path="/models")
    expect(page.get_by_text("Dr Journey · Psychiatrist")).to_be_visible()
    settle(page)
    expect(page).to_have_url(re.compile(r"/models$"))
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_have_count(0)


def _new_patient(page, app_url, pseudonym):
    login(page, app_url, "dr.journey")
    settle(page)
    page.get_by_text("New patient").click()
    page.get_by_role("textbox", name="Pseudonymous id").fill(pseudonym)
    tick(page, "The patient consents to ML analysis of their notes")
    button(page, "Create patient").click()
    # Create-patient lands on the new patient (the first page of a fresh app also loads the encoder).
    expect(page.get_by_role("heading", name=pseudonym)).to_be_visible(timeout=MODEL_WAIT_MS)
    expect(page.get_by_text(f"Created {pseudonym}. Add the first visit under Add visits.")).to_be_visible(
        timeout=MODEL_WAIT_MS)


def test_add_visits_by_paste_and_upload_and_acknowledge_crisis(page, app_url, tmp_path):
    _new_patient(page, app_url, "J-PASTE-1")
    tab(page, "Add visits").click()
    page.get_by_role("textbox", name="Session note").fill(
        "Session 2. Low mood. She said she has been thinking about taking an overdose.")
    button(page, "Add visit").click()
    expect(page.get_by_text("Visit added.")).to_be_visible(timeout=MODEL_WAIT_MS)
    expect(page.get_by_text("Crisis language detected")).to_be_visible(timeout=MODEL_WAIT_MS)
    # The visit's first page can still be re-running (the warm-up, a loaded CI machine): a click that lands on a
    # stale copy of the banner is lost, so wait for the run to end, and give the acknowledging run model time.
    settle(page)
    button(page, "I have seen this and will act on it").click()
    expect(page.get_by_text("acknowledged by")).to_be_visible(timeout=MODEL_WAIT_MS)

    note = tmp_path / "visit.txt"
    note.write_text("Session 3. Mood brighter, saw two friends, sleeping better.", encoding="cp1252")
    tab(page, "Add visits").click()
    tab(page, "Upload a note").click()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").first.set_input_files(str(note))
    button(page, "Add visit from file").click()
    expect(page.get_by_text("Visit added from visit.txt.")).to_be_visible(timeout=MODEL_WAIT_MS)
    tab(page, "Visits").click()
    expect(page.get_by_text("Mood brighter, saw two friends").first).to_be_visible()


def qa_flags_next_item(page, app_url, note: str) -> None:
    """Log out, log in as the QA reviewer, claim the next review item and flag it with ``note``."""
    page.get_by_role("button", name="Log out").click()
    login(page, app_url, "qa.journey")
    page.get_by_role("link", name="Review queue").click()
    button(page, "Claim next").click()
    settle(page)
    page.get_by_text("flag", exact=True).first.click()
    page.get_by_role("textbox", name="Note (on every decision)").fill(note)
    button(page, "Submit").click()
    settle(page)


def _band_colours(page) -> dict[str, tuple[str, str]]:
    """Head label -> (band name, swatch colour) as the score summary under the chart states them."""
    out = {}
    for item in page.locator("li:visible").filter(has=page.locator("abbr.mhd-band")).all():
        label = item.locator("b").inner_text()
        band = item.locator("abbr.mhd-band")
        out[label] = (band.inner_text(), band.get_attribute("data-colour"))
    return out


def test_scores_speak_one_language_status_has_a_legend_and_qa_flags_reach_the_psychiatrist(page, app_url):
    from app.score_style import band_colour
    from core.models.heads import HEADS as SPECS

    _new_patient(page, app_url, "J-STYLE-1")
    for n, text in enumerate(["Session 1. Sees friends weekly; mother was treated for depression for years.",
                              "Session 2. Has stopped seeing anyone, stays in alone, flashbacks of the assault "
                              "most nights."], start=1):
        settle(page)
        tab(page, "Add visits").click()
        page.get_by_role("textbox", name="Session note").fill(text)
        button(page, "Add visit").click()
        expect(page.get_by_text(f"{n} visit{'s' if n != 1 else ''} · consent")).to_be_visible(timeout=60_000)
    tab(page, "Visits").click()
    button(page, "Analyse").click()
    head_ticks = page.locator("[class*=st-key-heads_chart_]:visible .js-plotly-plot g.yaxislayer-above text")
    expect(head_ticks).to_have_count(5, timeout=300_000)
    settle(page)
    # Each bar is drawn in its band's colour, and the band named on the axis is the band of the summary.
    bands = _band_colours(page)
    assert len(bands) == 5
    fills = page.locator("[class*=st-key-heads_chart_]:visible .js-plotly-plot g.trace.bars path")
    drawn = {f.evaluate("e => getComputedStyle(e).fill") for f in fills.all()}
    for spec in SPECS:
        band, colour = bands[spec.label]
        index = [b for _, b in spec.bands].index(band)
        assert colour == band_colour(spec, index)
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        assert f"rgb({r}, {g}, {b})" in drawn
        expect(head_ticks.filter(has_text=f"{spec.label}: {band}")).to_have_count(1)
    # No two-decimal "± 0.01": intervals at honest precision, confidence in words.
    summary = page.locator("li:visible").filter(has=page.locator("abbr.mhd-band"))
    expect(summary.filter(has_text="±")).to_have_count(0)
    expect(summary.filter(has_text=re.compile(r"(high|medium|low) confidence"))).to_have_count(5)
    assert page.locator("abbr.mhd-band:visible").first.get_attribute("title").count("not a validated") == 1
    save_screenshot(page, "style_head_scores.png")
    tab(page, "Trajectories").click()
    expect(page.get_by_text("Family history (a fact mentioned in a note, not a trend)")).to_be_visible()
    expect(page.locator(".st-key-traj_family_history")).to_have_count(0)
    save_screenshot(page, "style_trajectories.png")
    # The patient list explains its status markers.
    page.get_by_role("link", name="Patients").click()
    expect(page.get_by_text("Status (hover for what each means):")).to_be_visible()
    save_screenshot(page, "style_patient_list.png")

    # A QA reviewer flags the heads output as critical; the psychiatrist sees it on the output and the list.
    qa_flags_next_item(page, app_url, "Trauma reads too low for this note")
    page.get_by_role("button", name="Log out").click()
    login(page, app_url, "dr.journey")
    settle(page)
    # The patient table is drawn on a canvas (its cells are not text in the page): the screenshot shows the status,
    # and the flag's details are checked as text on the patient's output below.
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    save_screenshot(page, "style_patient_list_flagged.png")
    page.locator("[data-testid=stSelectbox]").filter(has_text="Open patient").click()
    page.get_by_role("option", name="J-STYLE-1").click()
    button(page, "Open").click()
    expect(page.get_by_text(re.compile(r"QA flag \(open\) · severity")).first).to_be_visible(timeout=MODEL_WAIT_MS)
    expect(page.get_by_text("Reviewer's note: Trauma reads too low for this note").first).to_be_visible()
    save_screenshot(page, "style_qa_flag_on_output.png")


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit multiselect labelled ``label``."""
    settle(page)
    page.locator("[data-testid=stMultiSelect]:visible").filter(has_text=label).first.click()
    page.keyboard.type(option)  # the list is long: filter it as a person would
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def test_background_rationales_finish_while_the_psychiatrist_is_on_another_page(page, app_url):
    _new_patient(page, app_url, "J-BG-1")
    tab(page, "Add visits").click()
    page.get_by_role("textbox", name="Session note").fill(
        "Session 1. Has stopped seeing friends, stays in bed most days, feels empty and tense at work.")
    button(page, "Add visit").click()
    expect(page.get_by_text("Visit added.")).to_be_visible(timeout=MODEL_WAIT_MS)
    for _ in range(3):  # a tab click lost while the app re-renders after the save is retried
        settle(page)
        tab(page, "Visits").click()
        if button(page, "Analyse").is_visible():
            break
        page.wait_for_timeout(1000)
    for option in ("Depression", "Loneliness"):  # one task with a task head, one without
        _choose(page, "Language-model questions to include", option)
    button(page, "Analyse").click()
    # The fast part is done at once: scores and the task head's label; the rationales are queued, with progress.
    expect(page.get_by_text(re.compile("rationales are being written in the background"))).to_be_visible(
        timeout=MODEL_WAIT_MS)
    head_ticks = page.locator("[class*=st-key-heads_chart_]:visible .js-plotly-plot g.yaxislayer-above text")
    expect(head_ticks).to_have_count(5)
    expect(page.locator("[data-testid=stMarkdownContainer]:visible").filter(
        has_text=re.compile(r"^Depression: (yes|no) · model probability (≈ 0\.\d|> 0\.95|< 0\.05) · label from the task head"))
    ).to_have_count(1)
    panel = page.locator("[class*=st-key-bg_job_]")
    expect(panel.get_by_text(re.compile(r"^Background rationales"))).to_be_visible()
    expect(panel.get_by_text(re.compile(r"^Visit of \d{4}-\d\d-\d\d: \d of 2 written"))).to_be_visible()
    expect(button(panel, "Cancel")).to_be_visible()
    save_screenshot(page, "background_queued.png")

    # Another page: the work goes on, the sidebar shows it, and says when it has finished.
    nav_link(page, "Models").click()
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text(re.compile(r"^J-BG-1: \d of 2 rationales$"))).to_be_visible()
    save_screenshot(page, "background_other_page.png")
    expect(sidebar.get_by_text("Background rationales finished: J-BG-1.")).to_be_visible(timeout=900_000)
    save_screenshot(page, "background_finished_elsewhere.png")

    # Back on the patient: two answers with the language model's text, the label alone stepped aside.
    nav_link(page, "Patients").click()
    page.locator("[data-testid=stSelectbox]").filter(has_text="Open patient").click()
    page.get_by_role("option", name="J-BG-1").click()
    button(page, "Open").click()
    expect(page.get_by_role("heading", name="J-BG-1")).to_be_visible(timeout=MODEL_WAIT_MS)
    settle(page)
    expect(page.get_by_text(re.compile(r"^Last background job finished at .*: 2 of 2 rationales written\.$"))
           ).to_be_visible()
    labels = page.locator("[data-testid=stMarkdownContainer]:visible").filter(
        has_text=re.compile(r"^(Depression|Loneliness): "))
    expect(labels).to_have_count(2)
    expect(page.get_by_text(re.compile(r"^(Rationale \(model text\):|Generated text \(language model; it explains "
                                       r"the label, it did not choose it\):)$"))).to_have_count(2)
    save_screenshot(page, "background_done_on_patient.png")


# Runs last: its reviewer claims whatever output is next in the queue, so earlier journeys keep their own items.
def test_analyse_sign_off_then_qa_flags_and_exports(page, app_url):
    _new_patient(page, app_url, "J-ANALYSE-1")
    for text in ["Session 1. Feels connected to friends, sleeping well, mood bright.",
                 "Session 2. Has stopped seeing anyone, stays in alone, feels empty and hopeless most days."]:
        tab(page, "Add visits").click()
        page.get_by_role("textbox", name="Session note").fill(text)
        button(page, "Add visit").click()
        expect(page.get_by_text("Visit added.")).to_be_visible(timeout=MODEL_WAIT_MS)
    # A tab click that lands while the app is still re-rendering after the save can be lost: retry it, as a
    # person would click again (the final check still fails when the Visits tab never opens).
    for _ in range(3):
        settle(page)
        tab(page, "Visits").click()
        if button(page, "Analyse").is_visible():
            break
        page.wait_for_timeout(1000)
    expect(button(page, "Analyse")).to_be_visible()
    button(page, "Analyse").click()
    # The 5 head scores of the newest (expanded) visit, each named with its band.
    head_ticks = page.locator("[class*=st-key-heads_chart_]:visible .js-plotly-plot g.yaxislayer-above text")
    expect(head_ticks).to_have_count(5, timeout=300_000)
    for _, title, _ in HEADS:
        expect(head_ticks.filter(has_text=re.compile(rf"^{re.escape(title)}: [a-z/ ]+$"))).to_have_count(1)
    # One language-model task on the latest visit: label, probability and streamed rationale.
    settle(page)
    button(page, "Run").click()
    label_line = page.locator("[data-testid=stMarkdownContainer]:visible").filter(
        has_text=re.compile(r"^Depression:"))
    expect(label_line).to_have_text(re.compile(r"^Depression: (yes|no) · model probability (≈ 0\.\d|> 0\.95|< 0\.05)"
                                               r"( · label from the (task head \S+|language model))?$"),
                                    timeout=600_000)
    # With a task head the LLM text is labelled as generated (it explains the label, it did not choose it).
    rationale_heading = page.get_by_text(re.compile(
        r"^(Rationale \(model text\):|Generated text \(language model; it explains the label, it did not choose it\):)$"))
    expect(rationale_heading).to_be_visible()
    llm_box = page.locator("[data-testid=stVerticalBlock]:visible").filter(has=label_line).filter(
        has=rationale_heading).last
    expect(llm_box.get_by_test_id("stText")).to_have_text(re.compile(r"\w{2,}\W+\w{2,}"))  # words, not blank
    expect(llm_box.get_by_text("Decision support, not a diagnosis.").first).to_be_visible()
    settle(page)
    tab(page, "Trajectories").click()
    for name, title, _ in [h for h in HEADS if h[0] != "family_history"]:  # family history is a fact, not a trend
        chart = page.locator(f".st-key-traj_{name} .js-plotly-plot")
        expect(chart).to_be_visible()
        expect(chart.locator("text.gtitle")).to_have_text(title)
        expect(chart.locator("g.trace.scatter path.point")).to_have_count(2)  # one marker per scored visit
    save_screenshot(page, "analysis_trajectories.png")
    tab(page, "Visits").click()
    button(page, "Sign off…").first.click()
    expect(page.get_by_text("Sign off this output?")).to_be_visible()
    button(page, "Confirm sign-off").click()
    expect(page.get_by_text("signed by").first).to_be_visible()
    save_screenshot(page, "analysis_signed.png")

    # The QA reviewer flags an output and finds it in the export.
    qa_flags_next_item(page, app_url, "Rationale cites isolation not in note")
    tab(page, "Export").click()
    button(page, "Prepare export").click()
    # Earlier journeys may have flagged outputs too; this reviewer's flag must be among the rows exported.
    expect(page.get_by_text(re.compile(r"^\d+ rows?$"))).to_be_visible()
    with page.expect_download() as download:
        button(page, "Download").click()
    content = open(download.value.path(), encoding="utf-8").read()
    assert "Rationale cites isolation not in note" in content
