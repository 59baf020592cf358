#!/usr/bin/env python3
"""Drives headless Chromium (Debian's chromium + chromium-driver, selenium from PyPI) through
raqam's web view and prints, as one JSON object, what a person would see: where an unsigned
visit lands, the figures of the nation page, the who-lags counts, the map's tiles, names in
Oʻzbek and Russian, and every console message. Screenshots of each page go to OUT_DIR.

    scripts/browser-check.py BASE_URL TOKEN OUT_DIR [FLAGGED_SUBJECT]

The assertions are the caller's (Tests/RaqamCLITests/WebViewTests.swift): this script only looks.
"""
import json
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, token, out = sys.argv[1], sys.argv[2], sys.argv[3]
flagged = sys.argv[4] if len(sys.argv) > 4 else None  # a subject flagged on 2021-06-30, to explain
options = Options()
options.binary_location = "/usr/bin/chromium"
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1100",
          "--ignore-certificate-errors", "--no-first-run", "--disable-extensions"]:
    options.add_argument(a)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(60)
seen = {"console": [], "pages": {}}


def visit(name, path):
    driver.get(base + path)
    driver.save_screenshot(f"{out}/{name}.png")
    for entry in driver.get_log("browser"):
        seen["console"].append({"page": name, "level": entry.get("level"), "message": entry.get("message")})
    return {"url": driver.current_url, "title": driver.title, "bytes": len(driver.page_source.encode())}


def texts(selector):
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]


def figures():
    rows = {}
    for row in driver.find_elements(By.CSS_SELECTOR, "#figures tbody tr"):
        rows[row.get_attribute("id")] = {k: row.find_element(By.CSS_SELECTOR, "." + k).text for k in ["value", "target", "pace"]}
    return rows


try:
    # Unsigned: every page sends to the sign-in form.
    page = visit("unsigned", "/?at=2021-06-30")
    seen["unsigned"] = page["url"]
    seen["unsigned_lagging"] = visit("unsigned-lagging", "/lagging")["url"]
    # Sign in with the token: back to the page first asked for.
    visit("login", "/login?next=%2F%3Fat%3D2021-06-30")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()
    WebDriverWait(driver, 30).until(lambda d: "/login" not in d.current_url)
    seen["after_login"] = driver.current_url
    cookies = {c["name"]: c for c in driver.get_cookies()}
    seen["session_cookie"] = {k: cookies.get("raqam_session", {}).get(k) for k in ["httpOnly", "sameSite", "secure"]}

    p = visit("nation", "/?at=2021-06-30")
    p["figures"] = figures()
    p["scopes"] = {r.get_attribute("id"): r.find_element(By.CSS_SELECTOR, ".flagged").text for r in driver.find_elements(By.CSS_SELECTOR, "#alerts-by-scope tbody tr")}
    p["tiles"] = [{"region": a.get_attribute("data-region"), "districts": int(a.get_attribute("data-districts")),
                   "flagged": int(a.get_attribute("data-flagged")), "fill": a.find_element(By.CSS_SELECTOR, "rect").get_attribute("fill"),
                   "href": a.get_dom_attribute("href")} for a in driver.find_elements(By.CSS_SELECTOR, "#region-map a")]
    p["as_of"] = driver.find_element(By.ID, "as-of").text
    p["freshness"] = driver.find_element(By.ID, "freshness").text
    seen["pages"]["nation"] = p

    p = visit("nation-march", "/?at=2021-03-31")
    p["figures"] = figures()
    seen["pages"]["nation-march"] = p

    p = visit("lagging", "/lagging?at=2021-06-30")
    count = driver.find_element(By.ID, "count")
    p["count"] = {k: count.get_attribute("data-" + k) for k in ["alerts", "orgs", "districts", "regions", "nation"]}
    p["rows"] = len(driver.find_elements(By.CSS_SELECTOR, "#lagging tbody tr"))
    p["row_range"] = driver.find_element(By.ID, "row-range").text
    p["csv"] = driver.find_element(By.ID, "csv").get_attribute("href")
    seen["pages"]["lagging"] = p

    p = visit("lagging-andijan", "/lagging?at=2021-06-30&scope=district&region=region%3A1703")
    p["scopes"] = sorted(set(e.get_attribute("data-scope") for e in driver.find_elements(By.CSS_SELECTOR, "#lagging tbody tr")))
    p["rows"] = len(driver.find_elements(By.CSS_SELECTOR, "#lagging tbody tr"))
    seen["pages"]["lagging-andijan"] = p

    # Follow the map: the first tile's link leads to its region's page.
    first = seen["pages"]["nation"]["tiles"][0]["href"]
    driver.get(base + first)
    seen["pages"]["region-from-map"] = {"url": driver.current_url, "h1": driver.find_element(By.TAG_NAME, "h1").text}

    # The region's table sorted by a column header's link.
    visit("region-default", "/regions/region:1703?at=2021-06-30&lang=en")
    # The alert trend is computed off the request: the page says so until it is there.
    WebDriverWait(driver, 300, poll_frequency=1).until(
        lambda d: (d.find_elements(By.CSS_SELECTOR, "#trend-alerts svg") and d.find_elements(By.CSS_SELECTOR, "#trend-completion svg")) or d.refresh())
    seen["pages"]["region-default"] = {
        "alerts": [int(t) for t in texts("#districts tbody td.alerts")],
        "trends": {k: (driver.find_elements(By.CSS_SELECTOR, f"#trend-{k} svg") or [None])[0] and
                   driver.find_element(By.CSS_SELECTOR, f"#trend-{k} svg").get_attribute("data-points") for k in ["completion", "alerts"]},
        "row_trends": len(driver.find_elements(By.CSS_SELECTOR, "#districts tbody td.trend svg")),
        "rows": len(driver.find_elements(By.CSS_SELECTOR, "#districts tbody tr")),
    }
    for column in ["alerts", "completion", "last_report"]:
        driver.find_element(By.ID, "sort-" + column).click()
        WebDriverWait(driver, 30).until(lambda d: f"sort={column}" in d.current_url)
        seen["pages"]["region-sorted-" + column] = {
            "sorted_by": driver.find_element(By.ID, "districts").get_attribute("data-sorted-by"),
            "alerts": [int(t) for t in texts("#districts tbody td.alerts")],
            "completion": texts("#districts tbody td.completion"),
            "last_report": texts("#districts tbody td.last-report"),
        }

    for lang in ["uz", "ru"]:
        p = visit("region-" + lang, f"/regions/region:1703?at=2021-06-30&lang={lang}")
        p["h1"] = driver.find_element(By.TAG_NAME, "h1").text
        p["html_lang"] = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
        p["names"] = texts("#districts tbody td:nth-child(2)")
        seen["pages"]["region-" + lang] = p
    # The language is remembered: a page without ?lang= keeps the last one.
    p = visit("subject-remembered", "/subjects/district:1703202?at=2021-06-30")
    WebDriverWait(driver, 300, poll_frequency=1).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#metrics svg") or d.refresh())
    p["h1"] = driver.find_element(By.TAG_NAME, "h1").text
    p["html_lang"] = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
    p["metrics"] = len(driver.find_elements(By.CSS_SELECTOR, "#metrics tbody tr"))
    p["events"] = [int(t) for t in texts("#events tbody td:first-child")]
    p["event_total"] = int(driver.find_element(By.ID, "event-total").text)
    p["history"] = texts("#history tbody td:nth-child(2)")
    p["trends"] = {row.get_attribute("data-metric"): row.find_element(By.CSS_SELECTOR, "svg").get_attribute("data-points")
                   for row in driver.find_elements(By.CSS_SELECTOR, "#metrics tbody tr") if row.find_elements(By.CSS_SELECTOR, "svg")}
    seen["pages"]["subject-remembered"] = p
    # The older page of its events goes on where the first stopped.
    older = driver.find_elements(By.ID, "older")
    if older:
        older[0].click()
        WebDriverWait(driver, 30).until(lambda d: "page=2" in d.current_url)
        seen["pages"]["subject-older"] = {"events": [int(t) for t in texts("#events tbody td:first-child")], "url": driver.current_url}

    if flagged:
        p = visit("explained", f"/subjects/{flagged}?at=2021-06-30&lang=en")
        p["explanations"] = []
        for sec in driver.find_elements(By.CSS_SELECTOR, "section.explanation"):
            p["explanations"].append({
                "rule": sec.get_attribute("data-rule"),
                "clauses": [[td.text for td in tr.find_elements(By.TAG_NAME, "td")] for tr in sec.find_elements(By.CSS_SELECTOR, "table.clauses tr")],
                "events": [{"seq": int(li.get_attribute("data-seq")), "type": li.get_attribute("data-type")} for li in sec.find_elements(By.CSS_SELECTOR, "li.evidence-event")],
            })
        seen["pages"]["explained"] = p

    # The present (no ?at=): raqamd's live view.
    p = visit("nation-now", "/?lang=en")
    p["figures"] = figures()
    p["as_of"] = driver.find_element(By.ID, "as-of").text
    seen["pages"]["nation-now"] = p
    p = visit("lagging-now", "/lagging?lang=en")
    count = driver.find_element(By.ID, "count")
    p["count"] = {k: count.get_attribute("data-" + k) for k in ["alerts", "orgs", "districts", "regions", "nation"]}
    seen["pages"]["lagging-now"] = p

    # Sign out: the session ends, pages send to sign-in again.
    visit("before-logout", "/?lang=en")
    driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
    WebDriverWait(driver, 30).until(lambda d: "/login" in d.current_url)
    seen["after_logout"] = driver.current_url
    seen["after_logout_page"] = visit("after-logout", "/lagging")["url"]
finally:
    driver.quit()
print(json.dumps(seen, ensure_ascii=False))
