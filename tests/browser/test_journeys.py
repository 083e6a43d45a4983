"""Journeys through the real app in a real browser, asserting what the person sees."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import button, login

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
