"""An admin answers a subject access request in headless Chromium, against the whole system."""

from __future__ import annotations

import secrets
import string

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from test_web_browser import check_accessibility, click_and_wait, create_user, sign_in, text_of

from tests.infra.payloads import TELEPHONE
from tests.infra.system import System

pytestmark = pytest.mark.browser


def _contact_from(system: System, name: str) -> dict:
    """A telephone message from name, logged through the contacts API by a north coordinator."""
    headers = system.staff("contacts", "coordinator", "north", "setup.north")
    north = requests.get(
        system.url("directory") + "/api/v1/centres", params={"area": "north", "per_page": 1}, timeout=5
    ).json()["items"][0]
    made = requests.post(
        system.url("contacts") + "/api/v1/contacts",
        json={
            **TELEPHONE,
            "centre_id": north["id"],
            "requester": {**TELEPHONE["requester"], "name": name, "phone": "07700 900456"},
        },
        headers=dict(headers),
        timeout=5,
    )
    assert made.status_code == 201, made.text
    return made.json() | {"headers": headers}


def test_an_admin_finds_a_persons_contacts_and_erases_them(browser, system: System, axe: str):
    # A name no other test uses: the system is shared by the session.
    name = "Test Sar " + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
    contact = _contact_from(system, name)
    password = create_user(system, "a.sar", "admin")
    sign_in(browser, system, "a.sar", password)

    browser.get(system.url("web") + "/admin/")
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "subject access requests"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Subject access requests"
    check_accessibility(browser, axe, "subject access search")

    browser.find_element(By.ID, "name").send_keys(name.upper())
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=sar-search] button"))
    assert text_of(browser, "[data-testid=sar-count]") == "1 contact found"
    assert contact["reference"] in text_of(browser, "[data-testid=sar-results]")
    check_accessibility(browser, axe, "subject access results")

    Select(browser.find_element(By.ID, "reason")).select_by_value("erasure_request")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=sar-erase] button"))
    assert "Confirm that the personal data should be erased" in text_of(
        browser, "[data-testid=error-summary]"
    )
    check_accessibility(browser, axe, "subject access erasure, not confirmed")

    Select(browser.find_element(By.ID, "reason")).select_by_value("erasure_request")
    browser.find_element(By.ID, "confirm").click()
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=sar-erase] button"))
    assert "Personal data erased from 1 contact." in browser.page_source

    read = requests.get(
        system.url("contacts") + f"/api/v1/contacts/{contact['id']}",
        headers=dict(contact["headers"]),
        timeout=5,
    ).json()
    assert read["personal"] is None and read["personal_erased_at"]
