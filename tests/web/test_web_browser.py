"""End to end in headless Chromium against the whole system on its embedded defaults."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

import holidays
import pytest
import requests
from browser_testkit import axe_violations, console_errors, describe, screenshot
from ccshared.auth import StaffUser
from ccshared.timeutil import LONDON
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.infra import payloads, tokens
from tests.infra.system import System
from tests.infra.waiting import wait_for

pytestmark = pytest.mark.browser

WAIT_SECONDS = 60.0


def create_user(
    system: System, username: str, role: str, area: str | None = None, agency: str | None = None
) -> str:
    """An account made with the documented command; returns the generated password."""
    args = ["create-user", username, "--role", role] + (["--area", area] if area else [])
    args += ["--agency", agency] if agency else []
    found = re.search(r"^Password: (\S+)$", system.command("web", *args).stdout, re.MULTILINE)
    assert found, "create-user printed no password"
    return found.group(1)


def working_days_ago(today: date, count: int) -> date:
    """The day `count` working days (England and Wales) before today."""
    bank_holidays = holidays.country_holidays("GB", subdiv="ENG", years=range(today.year - 1, today.year + 1))
    day, found = today, 0
    while found < count:
        day -= timedelta(days=1)
        if day.weekday() < 5 and day not in bank_holidays:
            found += 1
    return day


def check_accessibility(browser, axe: str, page: str) -> None:
    violations = axe_violations(browser, axe)
    assert not violations, f"serious accessibility problems on {page}:\n{describe(violations)}"


def sign_in(browser, system: System, username: str, password: str) -> None:
    browser.get(system.url("web") + "/sign-in")
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "main button[type=submit]"))
    assert username in browser.find_element(By.CSS_SELECTOR, "[data-testid=signed-in-as]").text


def click_and_wait(browser, element) -> None:  # noqa: ANN001 - selenium objects
    """Click something that loads a new page, and wait until the new page is there."""
    old_page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, WAIT_SECONDS).until(lambda _: gone(old_page))
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete"
    )


def gone(element) -> bool:  # noqa: ANN001 - a selenium element
    """Whether element's page has been replaced.

    Mid-navigation ChromeDriver may answer with "Node with given id does not belong to
    the document" instead of a stale-element error; both mean the old page is gone.
    """
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise
    return False


def text_of(browser, selector: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, selector).text


def reload_until(browser, url: str, condition, what: str):  # noqa: ANN001, ANN201
    def check():  # noqa: ANN202
        browser.get(url)
        return condition()

    return wait_for(check, WAIT_SECONDS, what, interval=1.0)


def test_a_member_of_the_public_finds_a_centre_by_service(browser, system: System, axe: str):
    expected = requests.get(
        system.url("directory") + "/api/v1/centres",
        params={"service": "speech-and-language", "per_page": 100},
        timeout=5,
    ).json()
    assert expected["total"] > 0, "the sample data offers speech and language somewhere"

    browser.get(system.url("web") + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Find a children's centre"
    check_accessibility(browser, axe, "find a centre")
    screenshot(browser, "01-find-a-centre")
    Select(browser.find_element(By.ID, "service")).select_by_visible_text("Speech and language")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#find-form button[type=submit]"))

    results = browser.find_elements(By.CSS_SELECTOR, "[data-testid=results] h3 a")
    assert sorted(link.text for link in results) == sorted(centre["name"] for centre in expected["items"])
    assert f"{expected['total']} centre" in text_of(browser, "#results-title")
    assert "Information last checked" in text_of(browser, "[data-testid=results]")
    check_accessibility(browser, axe, "search results")
    screenshot(browser, "02-search-results")

    first = results[0].text
    click_and_wait(browser, results[0])
    assert browser.find_element(By.TAG_NAME, "h1").text == first
    assert "Speech and language" in text_of(browser, ".service-list")
    assert "Opening times" in browser.page_source
    check_accessibility(browser, axe, "a centre's page")
    screenshot(browser, "03-centre")

    browser.get(system.url("web") + "/how-we-are-doing")
    assert "We will respond to all letters within 5 working days." in browser.page_source
    check_accessibility(browser, axe, "how we are doing")
    screenshot(browser, "04-how-we-are-doing")
    assert not console_errors(browser), "the pages broke their own content security policy"


def test_near_me_finds_the_closest_centre_from_the_browsers_location(browser, system: System):
    anfield = requests.get(
        system.url("directory") + "/api/v1/centres", params={"q": "Anfield", "per_page": 1}, timeout=5
    ).json()["items"][0]
    browser.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": system.url("web"), "permissions": ["geolocation"]}
    )
    browser.execute_cdp_cmd(
        "Emulation.setGeolocationOverride",
        {
            "latitude": anfield["location"]["latitude"],
            "longitude": anfield["location"]["longitude"],
            "accuracy": 10,
        },
    )
    browser.get(system.url("web") + "/")
    browser.find_element(By.XPATH, "//button[normalize-space()='Find centres near me']").click()

    wait_for(lambda: "near you" in browser.page_source, WAIT_SECONDS, "results near the browser's location")
    first = browser.find_element(By.CSS_SELECTOR, "[data-testid=results] li")
    assert anfield["name"] in first.text
    assert "metres away" in first.text or "km away" in first.text
    browser.execute_cdp_cmd("Emulation.clearGeolocationOverride", {})


def test_the_keyboard_reaches_the_skip_link_first(browser, system: System):
    browser.get(system.url("web") + "/")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)

    focused = browser.switch_to.active_element
    assert focused.text == "Skip to main content"
    focused.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"


def test_the_public_pages_fit_a_phone_screen(browser, system: System, axe: str):
    browser.set_window_size(390, 844)
    for path, name in (
        ("/?service=stay-and-play", "05-phone-find"),
        ("/how-we-are-doing", "06-phone-how-we-are-doing"),
    ):
        browser.get(system.url("web") + path)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow}px"
        check_accessibility(browser, axe, f"{path} at phone width")
        screenshot(browser, name)


def test_a_coordinator_answers_a_breached_telephone_message_and_the_figures_change(
    browser, system: System, axe: str
):
    password = create_user(system, "c.north", "coordinator", "north")
    now = datetime.now(LONDON)
    received_day = working_days_ago(now.date(), 3)
    received_at = datetime.combine(received_day, time(10, 0), LONDON)
    due = requests.get(
        system.url("sla-monitor") + "/api/v1/due",
        params={"channel": "telephone", "received_at": received_at.isoformat()},
        timeout=5,
    ).json()
    assert datetime.fromisoformat(due["due_at"]) < now, (
        "three working days ago is past a 2 working day target"
    )

    sign_in(browser, system, "c.north", password)
    check_accessibility(browser, axe, "Today")
    browser.get(system.url("web") + "/staff/compliance")
    breached_before = (
        int(text_of(browser, "[data-testid=overall-breached]") or 0)
        if browser.find_elements(By.CSS_SELECTOR, "[data-testid=overall-breached]")
        else 0
    )

    browser.get(system.url("web") + "/staff/contacts/new")
    check_accessibility(browser, axe, "log a contact")
    browser.find_element(By.ID, "channel-telephone").click()
    Select(browser.find_element(By.ID, "centre_id")).select_by_index(1)
    browser.execute_script(
        "document.getElementById('received_date').value = arguments[0];"
        "document.getElementById('received_time').value = '10:00';",
        received_day.isoformat(),
    )
    browser.find_element(By.ID, "subject").send_keys("Asking about stay and play sessions")
    browser.find_element(By.ID, "name").send_keys("Test Parent")
    browser.find_element(By.ID, "reply_by-telephone").click()
    browser.find_element(By.ID, "phone").send_keys("07700 900123")
    screenshot(browser, "07-log-a-contact")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))

    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading.startswith("Telephone message T-"), heading
    reference = heading.split()[-1]
    contact_url = browser.current_url

    row = f"tr[data-reference='{reference}'] .tag"
    reload_until(
        browser,
        system.url("web") + "/staff/today",
        lambda: browser.find_elements(By.CSS_SELECTOR, row) and text_of(browser, row) == "BREACHED",
        f"{reference} to show as breached on Today",
    )
    assert int(text_of(browser, "[data-testid=count-breached]")) >= 1
    screenshot(browser, "08-today-breached")
    reload_until(
        browser,
        system.url("web") + "/staff/mail/",
        lambda: (
            reference in text_of(browser, "[data-testid=delivery-log]")
            if browser.find_elements(By.CSS_SELECTOR, "[data-testid=delivery-log]")
            else False
        ),
        f"the breach e-mail about {reference} in the delivery log",
    )

    browser.get(contact_url)
    assert text_of(browser, "[data-testid=clock-state]") == "BREACHED"
    Select(browser.find_element(By.ID, "method")).select_by_visible_text("Telephone call")
    click_and_wait(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Record response']"))
    assert "Response recorded" in text_of(browser, "main")
    assert text_of(browser, "[data-testid=contact-status]") == "Responded"
    screenshot(browser, "09-contact-responded")

    def figures_changed() -> bool:
        counts = browser.find_elements(By.CSS_SELECTOR, "[data-testid=overall-breached]")
        still_waiting = reference in text_of(browser, "main").split("Breached and still waiting")[-1]
        return bool(counts) and int(counts[0].text) == breached_before + 1 and not still_waiting

    reload_until(
        browser, system.url("web") + "/staff/compliance", figures_changed, "the compliance figures to change"
    )
    assert browser.find_elements(By.CSS_SELECTOR, "figure.chart svg rect")
    check_accessibility(browser, axe, "breaches and compliance")
    screenshot(browser, "10-compliance")
    report = _download(browser, "[data-testid=download-csv]")
    assert report.headers["Content-Type"].startswith("text/csv")
    assert report.text.splitlines()[0].startswith("group,centre name,met,breached,open,total")
    assert received_day.strftime("%Y-%m") in report.text

    browser.get(system.url("web") + "/staff/contacts")
    listed = _download(browser, "[data-testid=download-xlsx]")
    assert listed.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert reference.encode() in zipfile_text(listed.content)

    browser.get(system.url("web") + "/how-we-are-doing")
    month = received_day.strftime("%B %Y")
    rows = [
        r.text for r in browser.find_elements(By.CSS_SELECTOR, "[data-testid=public-compliance] tbody tr")
    ]
    # The month is published once settled (this month, never before it has ended); until then the
    # page names it as not published yet.
    month_rows = [row_text for row_text in rows if month in row_text]
    assert month_rows or month in text_of(browser, "[data-testid=publication]"), rows
    for row_text in rows:
        # The public page never shows a count from 1 to 4 (it says "fewer than 5", or "withheld").
        shown = [(int(met), int(of)) for met, of in re.findall(r"\((\d+) of (\d+)\)", row_text)]
        assert all(of >= 5 and (met == 0 or met >= 5) for met, of in shown), row_text
        if month in row_text:
            assert shown or "Fewer than 5 " in row_text or "Withheld" in row_text, row_text

    browser.get(system.url("web") + "/staff/centres/")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "main table tbody a"))
    accessibility = browser.find_element(By.ID, "accessibility")
    accessibility.clear()
    accessibility.send_keys("Step-free entrance; accessible toilet; hearing loop.")
    click_and_wait(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Save changes']"))
    assert "Centre information saved." in text_of(browser, "main")
    assert "Updated by c.north (accessibility)" in text_of(browser, "[data-testid=audit]")
    click_and_wait(
        browser, browser.find_element(By.XPATH, "//button[normalize-space()='Mark as checked today']")
    )
    assert "Marked as checked today." in text_of(browser, "main")
    check_accessibility(browser, axe, "edit a centre")
    screenshot(browser, "11-centre-edit")

    for path, name in (
        ("/staff/centres/", "11-centres"),
        ("/staff/centres/stale", "12-stale"),
        ("/staff/mail/", "13-sent-emails"),
        ("/staff/partner-feeds/", "13-partner-feeds"),
    ):
        browser.get(system.url("web") + path)
        assert "Sorry" not in browser.find_element(By.TAG_NAME, "h1").text
        check_accessibility(browser, axe, path)
        screenshot(browser, name)


def _north_contact(system: System) -> dict:
    """A north-area telephone message logged through the contacts API as a north coordinator."""
    headers = _bearer(system, StaffUser("setup.north", "coordinator", "north"))
    north = requests.get(
        system.url("directory") + "/api/v1/centres", params={"area": "north", "per_page": 1}, timeout=5
    ).json()["items"][0]
    response = requests.post(
        system.url("contacts") + "/api/v1/contacts",
        json={**payloads.TELEPHONE, "centre_id": north["id"]},
        headers=headers,
        timeout=5,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_staff_user_cannot_see_another_areas_contacts_or_the_admin_pages(browser, system: System, axe: str):
    contact = _north_contact(system)
    password = create_user(system, "s.south", "staff", "south")
    sign_in(browser, system, "s.south", password)

    browser.get(system.url("web") + "/staff/today")
    assert contact["reference"] not in browser.page_source
    browser.get(system.url("web") + "/staff/contacts")
    assert contact["reference"] not in browser.page_source
    browser.get(system.url("web") + f"/staff/contacts/{contact['id']}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Page not found"
    assert "Test Parent" not in browser.page_source
    browser.get(system.url("web") + "/staff/contacts?area=north")
    assert contact["reference"] not in browser.page_source

    assert "Admin" not in text_of(browser, "nav")
    browser.get(system.url("web") + "/admin/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "You do not have permission to see this page"
    screenshot(browser, "14-staff-refused-admin")


def test_an_admin_sees_the_admin_pages(browser, system: System, axe: str):
    password = create_user(system, "a.admin", "admin")
    sign_in(browser, system, "a.admin", password)

    browser.get(system.url("web") + "/admin/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Staff accounts"
    assert "a.admin" in text_of(browser, "[data-testid=accounts]")
    check_accessibility(browser, axe, "admin")
    screenshot(browser, "15-admin")


def test_a_coordinator_accepts_a_partner_agencys_referral(browser, system: System, axe: str):
    printed = system.command(
        "contacts", "agency-key", "create", "--agency", "Test Health Visiting Team"
    ).stdout
    api_key = re.search(r"API key: (\S+)", printed).group(1)
    north = requests.get(
        system.url("directory") + "/api/v1/centres", params={"area": "north", "per_page": 1}, timeout=5
    ).json()["items"][0]
    consent_at = (datetime.now(LONDON) - timedelta(hours=1)).isoformat()
    referral = requests.post(
        system.url("contacts") + "/api/v1/referrals",
        json={
            **payloads.REFERRAL,
            "centre_id": north["id"],
            "consent": {**payloads.REFERRAL["consent"], "recorded_at": consent_at},
        },
        headers={"X-API-Key": api_key},
        timeout=5,
    )
    assert referral.status_code == 201, referral.text
    reference = referral.json()["reference"]
    password = create_user(system, "r.north", "coordinator", "north")
    sign_in(browser, system, "r.north", password)

    reload_until(
        browser,
        system.url("web") + "/staff/today",
        lambda: browser.find_elements(By.LINK_TEXT, reference),
        f"referral {reference} on Today",
    )
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, reference))
    assert "Referral from Test Health Visiting Team" in text_of(browser, "main")
    assert "Test Family" in text_of(browser, "main")
    check_accessibility(browser, axe, "a referral")
    screenshot(browser, "16-referral")
    click_and_wait(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Accept referral']"))

    assert "Referral accepted" in text_of(browser, "main")
    assert text_of(browser, "[data-testid=referral-status]") == "Accepted"
    seen_by_agency = requests.get(
        system.url("contacts") + f"/api/v1/referrals/{referral.json()['id']}",
        headers={"X-API-Key": api_key},
        timeout=5,
    ).json()
    assert seen_by_agency["outcome"] == "accepted"


def test_staff_pause_a_contact_while_waiting_on_a_partner_and_resume_it(browser, system: System, axe: str):
    contact = _north_contact(system)
    reference, contact_url = contact["reference"], system.url("web") + f"/staff/contacts/{contact['id']}"
    password = create_user(system, "p.north", "staff", "north")
    sign_in(browser, system, "p.north", password)

    clock_state = "[data-testid=clock-state]"
    reload_until(
        browser,
        contact_url,
        lambda: (
            browser.find_elements(By.CSS_SELECTOR, clock_state) and text_of(browser, clock_state) == "ON TIME"
        ),
        f"the clock of {reference} to start",
    )
    Select(browser.find_element(By.ID, "pause_reason")).select_by_visible_text("Waiting on a partner")
    browser.find_element(By.ID, "pause_note").send_keys("Test note: the health visitor's report")
    click_and_wait(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Pause']"))

    assert "Contact paused" in text_of(browser, "main")
    assert text_of(browser, "[data-testid=paused-since]").startswith("Paused since")
    assert "waiting on a partner" in text_of(browser, "[data-testid=paused-since]")
    reload_until(
        browser, contact_url, lambda: text_of(browser, clock_state) == "PAUSED", "the clock to stand still"
    )
    check_accessibility(browser, axe, "a paused contact")
    screenshot(browser, "17-contact-paused")

    browser.get(system.url("web") + "/staff/today")
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-reference='{reference}']")
    assert "paused since" in row.text and "waiting on a partner" in row.text
    screenshot(browser, "18-today-paused")

    browser.get(contact_url)
    click_and_wait(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Resume']"))
    assert "Contact resumed" in text_of(browser, "main")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=paused-since]")
    assert "the health visitor's report" in text_of(browser, "[data-testid=pauses]")
    reload_until(
        browser, contact_url, lambda: text_of(browser, clock_state) == "ON TIME", "the clock to run again"
    )
    history = text_of(browser, "[data-testid=history]")
    assert "Paused by p.north" in history and "Resumed by p.north" in history
    audit = requests.get(
        system.url("contacts") + f"/api/v1/contacts/{contact['id']}/audit",
        headers=_bearer(system, StaffUser("setup.north", "coordinator", "north")),
        timeout=5,
    ).json()
    changes = [(entry["who"], entry["action"]) for entry in audit if entry["action"] in ("pause", "resume")]
    assert changes == [("p.north", "pause"), ("p.north", "resume")]


# Partner agencies' users ---------------------------------------------------------


def _agency(system: System, name: str) -> str:
    """An agency made with the documented command; returns its id."""
    printed = system.command("contacts", "agency-key", "create", "--agency", name).stdout
    return re.search(r"^agency: .*\((\S+)\)$", printed, re.MULTILINE).group(1)


def _bearer(system: System, user: StaffUser) -> tokens.TokenHeaders:
    """The front end's token for this user at the contacts service."""
    return tokens.staff_headers(user, "contacts")


def _nearest_for(system: System, headers: Mapping[str, str]) -> tuple[str, dict]:
    """A district with a centre offering stay and play, and the centre contacts would choose."""
    offering = requests.get(
        system.url("directory") + "/api/v1/centres",
        params={"service": "stay-and-play", "per_page": 1},
        timeout=5,
    ).json()["items"][0]
    district = offering["postcode"].split()[0]
    chosen = requests.get(
        system.url("contacts") + "/api/v1/referrals/nearest-centre",
        params={"postcode_district": district, "support_needed": "stay-and-play"},
        headers=headers,
        timeout=5,
    )
    assert chosen.status_code == 200, chosen.text
    return district, chosen.json()


def _fill_referral(browser, district: str) -> None:
    browser.find_element(By.ID, "family_name").send_keys("Test Family Carer")
    browser.find_element(By.ID, "child_1_age").send_keys("2")
    browser.find_element(By.ID, "child_2_age").send_keys("7")
    Select(browser.find_element(By.ID, "child_2_unit")).select_by_visible_text("months")
    browser.find_element(By.ID, "family_phone").send_keys("07700 900123")
    browser.find_element(By.ID, "family_postcode").send_keys(district)
    browser.find_element(By.CSS_SELECTOR, "input[name=support_needed][value=stay-and-play]").click()
    browser.find_element(By.ID, "urgency-soon").click()
    browser.find_element(By.ID, "notes").send_keys("Test note: prefers a morning call")
    browser.find_element(By.ID, "referrer_name").send_keys("Test Referrer")
    browser.find_element(By.ID, "referrer_email").send_keys("referrer@example.org")
    browser.find_element(By.ID, "consent_by").send_keys("Test Referrer")


def _button(browser, label: str):  # noqa: ANN202 - a selenium element
    return browser.find_element(By.XPATH, f"//main//button[normalize-space()='{label}']")


def test_a_partner_refers_a_family_to_the_nearest_centre_and_sees_the_decision(
    browser, system: System, axe: str
):
    agency = _agency(system, "Test Family Support Agency")
    partner_api = _bearer(system, StaffUser("setup.partner", "partner", None, agency=agency))
    district, nearest = _nearest_for(system, partner_api)
    password = create_user(system, "p.family", "partner", agency=agency)

    sign_in(browser, system, "p.family", password)
    assert browser.find_element(By.TAG_NAME, "h1").text == "My agency's referrals"
    check_accessibility(browser, axe, "my agency's referrals (empty)")
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "Refer a family"))
    check_accessibility(browser, axe, "refer a family")
    _fill_referral(browser, district)

    click_and_wait(browser, _button(browser, "Send referral"))
    summary = text_of(browser, "[data-testid=error-summary]")
    assert "Confirm that the family agreed to this referral" in summary
    assert browser.find_element(By.ID, "family_name").get_attribute("value") == "Test Family Carer"
    check_accessibility(browser, axe, "refer a family, with errors")
    screenshot(browser, "17-partner-refer-errors")

    browser.find_element(By.ID, "consent_given").click()
    click_and_wait(browser, _button(browser, "Send referral"))
    assert "Check the centre this referral will go to" in text_of(browser, "[data-testid=notice]")
    assert nearest["centre_name"] in text_of(browser, "[data-testid=centre-check]")
    assert nearest["routing"]["reason"] in text_of(browser, "[data-testid=centre-check]")
    check_accessibility(browser, axe, "refer a family, the centre checked")
    screenshot(browser, "18-partner-refer-checked")

    send = _button(browser, "Send referral")
    old_page = browser.find_element(By.TAG_NAME, "html")
    browser.execute_script("arguments[0].click(); arguments[0].click();", send)
    WebDriverWait(browser, WAIT_SECONDS).until(lambda _: gone(old_page))
    wait_for(
        lambda: browser.find_element(By.TAG_NAME, "h1").text.startswith("Referral R-"),
        WAIT_SECONDS,
        "the referral's page after sending",
    )
    reference = browser.find_element(By.TAG_NAME, "h1").text.split()[-1]
    referral_id = browser.current_url.rstrip("/").split("/")[-1]
    sent = requests.get(system.url("contacts") + "/api/v1/referrals", headers=partner_api, timeout=5).json()
    assert [item["reference"] for item in sent["items"]] == [reference], "a double click makes one referral"
    assert text_of(browser, "[data-testid=referral-status]") == "New"
    assert "Test Family Carer" in text_of(browser, "[data-testid=sent]")
    check_accessibility(browser, axe, "a partner's referral")
    screenshot(browser, "19-partner-referral")

    coordinator = _bearer(system, StaffUser("setup.coordinator", "coordinator", nearest["area"]))
    declined = requests.post(
        system.url("contacts") + f"/api/v1/contacts/{referral_id}/referral/decline",
        json={"reason_code": "service_not_offered", "reason": "Test reason: no sessions this term"},
        headers=coordinator,
        timeout=5,
    )
    assert declined.status_code == 200, declined.text

    row = f"tr[data-reference='{reference}'] [data-testid=status]"
    reload_until(
        browser,
        system.url("web") + "/partners/?status=declined",
        lambda: browser.find_elements(By.CSS_SELECTOR, row) and text_of(browser, row) == "Declined",
        f"{reference} to show as declined",
    )
    assert "Service not offered" in text_of(browser, f"tr[data-reference='{reference}']")
    check_accessibility(browser, axe, "my agency's referrals")
    screenshot(browser, "20-partner-referrals")
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, reference))
    assert "Test reason: no sessions this term" in text_of(browser, "[data-testid=decline-reason]")
    assert text_of(browser, "[data-testid=history]").splitlines()[-1].endswith("Declined")
    check_accessibility(browser, axe, "a declined referral")

    browser.get(system.url("web") + "/staff/today")
    assert browser.find_element(By.TAG_NAME, "h1").text == "You do not have permission to see this page"


def _download(browser, selector: str) -> requests.Response:  # noqa: ANN001
    """Follow a download link as the signed-in browser would (its session cookie)."""
    link = browser.find_element(By.CSS_SELECTOR, selector).get_attribute("href")
    cookies = {cookie["name"]: cookie["value"] for cookie in browser.get_cookies()}
    answer = requests.get(link, cookies=cookies, timeout=15)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    return answer


def zipfile_text(content: bytes) -> bytes:
    """The XML inside an XLSX file, where its cells' text is."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        return b"".join(book.read(name) for name in book.namelist() if name.endswith(".xml"))
