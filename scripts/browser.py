#!/usr/bin/env python3
"""The dashboard in a real headless browser: Debian's chromium and chromium-driver, driven by selenium.

Starts `kaito serve` on a fresh data directory and a free port, adds an admin user with `kaito admin add-user` and
`kaito admin set-password` (the password on stdin), creates a token through the API, then in the browser: signs in,
enrols the second factor from the secret the page shows (codes by pyotp), checks that the tokens page shows pyotp's
code, creates a key with scope tokens:code on the keys page, reads it from the page, and fetches a code with it from
the API. Any mismatch fails the run.

With --screenshots DIR it also saves the main pages as PNG files (desktop and phone widths) for docs/.

Usage: scripts/browser.py PATH/TO/kaito [--screenshots DIR]
"""
import io
import os
import re
import subprocess
import sys
import time
import urllib.error

import pyotp
import zxingcpp
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By

from harness import call, kaito_serve

SEED = "JBSWY3DPEHPK3PXP"
PASSWORD = "correct horse battery staple"


def check(condition, message):
    if not condition:
        sys.exit("browser test failed: " + message)


def browser(width, height):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}"]:
        options.add_argument(argument)
    # The driver from Debian's package: selenium must not look for one on the network.
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    # A click on a submit button returns before the next page has loaded: look for elements until they appear.
    driver.implicitly_wait(10)
    return driver


def at(driver, url, message):
    """Waits (up to 10 s) until the browser is at `url`: after a click, the navigation is still under way."""
    deadline = time.time() + 10
    while driver.current_url != url and time.time() < deadline:
        time.sleep(0.05)
    check(driver.current_url == url, message + ": " + driver.current_url)


def wait_for(condition, what, timeout=10):
    """Waits until `condition()` holds. After a click the old page may still be there, or go away while it is read
    (a stale element, or Chrome's "node does not belong to the document"): both mean "not yet"."""
    deadline = time.time() + timeout
    while True:
        try:
            if condition():
                return
        except (StaleElementReferenceException, NoSuchElementException):
            pass
        except WebDriverException as error:
            # Chrome's form of a stale element: the node was read while its page went away.
            if "does not belong to the document" not in str(error):
                raise
        check(time.time() < deadline, f"waited {timeout} s for {what}")
        time.sleep(0.1)


def fresh_code(totp, last=None):
    """pyotp's current code, waiting for the next step when this one was already used or is about to end."""
    while True:
        remaining = totp.interval - time.time() % totp.interval
        code = totp.now()
        if remaining > 3 and code != last:
            return code
        time.sleep(remaining + 0.2)


def fits(driver, base, path):
    """The page at `path` is no wider than the window: nothing to scroll sideways."""
    driver.get(base + path)
    wide, window = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    check(wide <= window, f"{path} is {wide} px wide in a {window} px window")


def code_reads(base, auditor):
    """How many token.code.read events the audit log holds."""
    return len(call(base, "GET", "/v1/audit?action=token.code.read&limit=100", auditor)["data"])


def shown_code(driver):
    """The code and seconds left the tokens page shows for aws-prod (the code blank while it is hidden)."""
    code = driver.find_element(By.ID, "code-aws-prod")
    visible = code.value_of_css_property("visibility") != "hidden"
    left = driver.find_element(By.CSS_SELECTOR, "tr[data-slug=aws-prod] .seconds").text.strip()
    return (code.text.strip() if visible else ""), left


def codes_stay_current(driver, base, auditor):
    """The open tokens page keeps showing pyotp's current code: after the page was frozen for longer than a period
    (a closed laptop lid), and across periods, without reloading and without an audit event per refresh."""
    reads = code_reads(base, auditor)
    marker = driver.execute_script("window.kaitoMarker = 1; return window.kaitoMarker;")
    check(marker == 1, "a marker on the page")
    # The page's thread held for longer than one 30 s period, as a closed lid or a frozen background tab holds it: no
    # timer of the page runs meanwhile. (Chrome's own freezing, Page.setWebLifecycleState, stalls chromedriver.)
    driver.set_script_timeout(60)
    driver.execute_script("var end = Date.now() + 31000; while (Date.now() < end) {}")
    for cycle in range(3):
        def current():
            code, left = shown_code(driver)
            remaining = 30 - int(time.time()) % 30
            return code == pyotp.TOTP(SEED).now() and left.endswith(" s") and abs(int(left[:-2]) - remaining) <= 1
        wait_for(current, f"pyotp's current code and the seconds left on the open page (cycle {cycle}): {shown_code(driver)}", timeout=5)
        if cycle < 2:
            time.sleep(30 - time.time() % 30 + 0.5)  # into the next period
    check(driver.execute_script("return window.kaitoMarker;") == 1, "the page refreshed its codes without reloading")
    check(code_reads(base, auditor) == reads, f"the page's refreshes were audited: {reads} -> {code_reads(base, auditor)} code reads")


def qr_picture(text, ec_level, scale, canvas=None, at=(0, 0)):
    """A QR code made by an independent encoder (zxing-cpp), as a PIL image; pasted into `canvas` at `at` if given."""
    symbol = memoryview(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ec_level).to_image(scale=scale))
    code = Image.frombytes("L", (symbol.shape[1], symbol.shape[0]), symbol.tobytes())
    bordered = Image.new("L", (code.width + 8 * scale, code.height + 8 * scale), 255)
    bordered.paste(code, (4 * scale, 4 * scale))
    if canvas is None:
        return bordered
    canvas.paste(bordered, at)
    return canvas


def tokens_from_qr_pictures(driver, base, admin, directory):
    """Adds tokens on the tokens page from pictures of their QR codes (read by the page's script, in the browser) and
    checks each token's code against pyotp's for the URI the picture holds; then deletes them."""
    reader = call(base, "POST", "/v1/keys", admin, {"name": "qr reader", "scopes": ["tokens:code", "tokens:write"]})["key"]
    from PIL import ImageDraw
    screenshot = Image.new("RGB", (900, 700), (245, 246, 248))
    draw = ImageDraw.Draw(screenshot)
    for line in range(12):
        draw.text((40, 30 + 22 * line), "Set up two-factor authentication: scan this code with your app. " * 2, fill=(40, 40, 40))
    draw.rectangle((20, 300, 880, 680), outline=(30, 30, 30), width=3)
    cases = [
        ("qr-m", "otpauth://totp/Acme:ci%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme", "M", 4, None, "png"),
        ("qr-h", "otpauth://totp/Very%20Long%20Issuer%20Name%20Incorporated:deploy-bot%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Very%20Long%20Issuer%20Name%20Incorporated&algorithm=SHA1&digits=6&period=30",
         "H", 3, screenshot, "png"),
        ("qr-l", "otpauth://totp/Bank:ops?secret=KRUGKIDROVUWG2ZAMJZG653OEBTG66BAI5RW4ZLEN5WQ&issuer=Bank&algorithm=SHA256&digits=8&period=60", "L", 2, None, "jpeg"),
    ]
    for slug, uri, level, scale, canvas, kind in cases:
        picture = qr_picture(uri, level, scale, canvas.copy() if canvas else None, (330, 340))
        path = os.path.join(directory, slug + "." + kind)
        picture.convert("RGB").save(path, quality=90) if kind == "jpeg" else picture.save(path)
        driver.get(base + "/tokens")
        driver.find_element(By.XPATH, "//summary[text()='Add a token']").click()
        driver.find_element(By.ID, "slug").send_keys(slug)
        driver.find_element(By.ID, "qr-image").send_keys(path)
        wait_for(lambda: "QR code read" in driver.find_element(By.ID, "qr-image-status").text
                 or "No QR code" in driver.find_element(By.ID, "qr-image-status").text, f"the page reading {slug}'s picture")
        status = driver.find_element(By.ID, "qr-image-status").text
        check("QR code read" in status and driver.find_element(By.ID, "otpauth_uri").get_attribute("value") == uri, f"{slug}: {status!r}")
        driver.find_element(By.XPATH, "//button[text()='Add token']").click()
        wait_for(lambda: "added=" in driver.current_url, f"{slug} added")
        expected = pyotp.parse_uri(uri)
        code = call(base, "GET", f"/v1/tokens/{slug}/code?min_valid=3", reader)["code"]
        check(code == expected.now(), f"{slug}: the API's code {code}, pyotp's {expected.now()} for the URI in the picture")
        call(base, "DELETE", f"/v1/tokens/{slug}", reader)
    # A picture without a QR code: the page says so and fills nothing.
    path = os.path.join(directory, "no-qr.png")
    screenshot.save(path)
    driver.get(base + "/tokens")
    driver.find_element(By.XPATH, "//summary[text()='Add a token']").click()
    driver.find_element(By.ID, "qr-image").send_keys(path)
    wait_for(lambda: "No QR code" in driver.find_element(By.ID, "qr-image-status").text, "the page refusing a picture without a QR code")
    check(driver.find_element(By.ID, "otpauth_uri").get_attribute("value") == "", "nothing filled in")


def scenario(binary, base, data_dir, env, screenshots, drivers):
    """The user's way through the dashboard; every browser it opens goes into `drivers` (closed by the caller)."""
    def browser_sized(width, height):
        drivers.append(browser(width, height))
        return drivers[-1]

    admin = open(os.path.join(data_dir, "bootstrap-admin.key")).read().strip()
    admin_command = [binary, "admin"]
    subprocess.run(admin_command + ["add-user", "default", "alice@example.com", "--role", "owner", "--name", "Alice", "--data-dir", data_dir],
                   env=env, check=True, capture_output=True)
    subprocess.run(admin_command + ["set-password", "default", "alice@example.com", "--data-dir", data_dir],
                   env=env, check=True, capture_output=True, input=PASSWORD.encode())
    writer = call(base, "POST", "/v1/keys", admin, {"name": "setup", "scopes": ["tokens:write"]})["key"]
    auditor = call(base, "POST", "/v1/keys", admin, {"name": "auditor", "scopes": ["audit:read"]})["key"]
    call(base, "POST", "/v1/tokens", writer, {"slug": "aws-prod", "name": "AWS production", "issuer": "AWS", "account": "ci@example.com", "secret": SEED})
    call(base, "POST", "/v1/tokens", writer, {"slug": "github-bot", "name": "GitHub bot", "issuer": "GitHub", "secret": "KRSXG5CTMVRXEZLU"})

    driver = browser_sized(1280, 900)
    driver.get(base + "/")
    at(driver, base + "/login", "/ should lead to the sign-in page, not ")
    if screenshots:
        driver.save_screenshot(os.path.join(screenshots, "sign-in.png"))
    driver.find_element(By.ID, "email").send_keys("alice@example.com")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    at(driver, base + "/login/second-factor", "after the password: ")
    secret = driver.find_element(By.ID, "totp-secret").text.strip()
    check(len(secret) >= 32, "the enrolment page shows the secret")
    # What a phone's authenticator app does: read the QR code on the screen (zxing-cpp) and import the otpauth URI.
    scanned = zxingcpp.read_barcodes(Image.open(io.BytesIO(driver.find_element(By.CSS_SELECTOR, "svg.qr").screenshot_as_png)))
    link = driver.find_element(By.ID, "otpauth-link").get_attribute("href")
    check(scanned and scanned[0].text == link, f"the QR code reads {scanned[0].text if scanned else None!r}, the link is {link!r}")
    totp = pyotp.parse_uri(scanned[0].text)
    check(totp.secret == secret, "the QR code carries the secret shown")
    if screenshots:
        driver.save_screenshot(os.path.join(screenshots, "second-factor.png"))
    driver.find_element(By.ID, "code").send_keys(fresh_code(totp))
    driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    at(driver, base + "/tokens", "after the second factor: ")
    cookie = driver.get_cookie("kaito_session")
    check(cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict", f"session cookie: {cookie}")

    # The tokens page: pyotp's code for the seed.
    shown = driver.find_element(By.ID, "code-aws-prod").text.strip()
    expected = {pyotp.TOTP(SEED).at(time.time() + offset) for offset in (-30, 0, 30)}
    check(shown in expected, f"the tokens page shows {shown}, pyotp {expected}")
    if screenshots:
        driver.save_screenshot(os.path.join(screenshots, "tokens.png"))
    codes_stay_current(driver, base, auditor)
    # An owner sees each token's fetches and denials of the last 24 hours, drawn on the server (no script).
    driver.get(base + "/tokens")
    chart = driver.find_element(By.CSS_SELECTOR, "tr[data-slug='aws-prod'] svg.spark")
    check(re.search(r"aws-prod: [1-9][0-9]* code fetch(es)?, 0 denied in 24 h", chart.get_attribute("aria-label") or ""), f"the token's chart: {chart.get_attribute('aria-label')}")
    check(chart.find_elements(By.CSS_SELECTOR, "rect.ok"), "the chart has a bar for this hour's fetches")
    tokens_from_qr_pictures(driver, base, admin, data_dir)

    # The keys page: a key with scope tokens:code, shown once.
    driver.find_element(By.LINK_TEXT, "Keys").click()
    driver.find_element(By.ID, "name").send_keys("ci deploys")
    driver.find_element(By.CSS_SELECTOR, "input[name=scope][value='tokens:code']").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=token][value='aws-prod']").click()
    # Two networks on two lines: the browser posts them with CRLF between.
    driver.find_element(By.ID, "cidrs").send_keys("127.0.0.0/8\n10.0.0.0/8")
    driver.find_element(By.XPATH, "//button[text()='Create key']").click()
    key = driver.find_element(By.ID, "new-key").text.strip()
    check(key.startswith("kto_live_"), "the keys page shows the new key once")
    # The form redirected: a reload neither shows the key again nor makes another.
    check("/keys?created=key_" in driver.current_url, f"after Create key: {driver.current_url}")
    keys_before = len(call(base, "GET", "/v1/keys?limit=100", admin)["data"])
    driver.refresh()
    wait_for(lambda: "It was shown once" in driver.find_element(By.TAG_NAME, "main").text, "the reloaded keys page")
    check(key not in driver.page_source, "a reload does not show the key again")
    check(len(call(base, "GET", "/v1/keys?limit=100", admin)["data"]) == keys_before, "a reload makes no other key")
    made = [k for k in call(base, "GET", "/v1/keys?limit=100", admin)["data"] if k["name"] == "ci deploys"]
    check(len(made) == 1 and made[0]["allowed_cidrs"] == ["127.0.0.0/8", "10.0.0.0/8"], f"the key's networks: {made}")
    keys_chart = driver.find_element(By.CSS_SELECTOR, "svg.spark[aria-label^='ci deploys:']")
    check("code fetch" in keys_chart.get_attribute("aria-label") and "left this minute: code" in driver.find_element(By.TAG_NAME, "main").text,
          "the keys page charts each key's last 24 hours and says what its limits leave it")
    if screenshots:
        driver.save_screenshot(os.path.join(screenshots, "keys.png"))

    # The key works with the API, for its one token only.
    code = call(base, "GET", "/v1/tokens/aws-prod/code?min_valid=3", key)["code"]
    check(code == pyotp.TOTP(SEED).now(), f"the API gave {code}, pyotp {pyotp.TOTP(SEED).now()}")
    try:
        call(base, "GET", "/v1/tokens/github-bot/code", key)
        check(False, "the key is bound to aws-prod")
    except urllib.error.HTTPError as error:
        check(error.code == 403, f"another token: {error.code}")

    # Users: a member granted aws-prod only, with a password set by the owner.
    driver.find_element(By.LINK_TEXT, "Users").click()
    at(driver, base + "/users", "the users page: ")
    driver.find_element(By.ID, "email").send_keys("bob@example.com")
    driver.find_element(By.XPATH, "//button[text()='Add user']").click()
    wait_for(lambda: "/users/usr_" in driver.current_url, "the new user's page")
    driver.find_element(By.CSS_SELECTOR, "input[name=token][value='aws-prod']").click()
    driver.find_element(By.XPATH, "//button[text()='Save grants']").click()
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "p.notice"), "grants saved")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.XPATH, "//button[text()='Set password']").click()
    wait_for(lambda: "Password set" in driver.find_element(By.TAG_NAME, "main").text, "password set")
    if screenshots:
        driver.save_screenshot(os.path.join(screenshots, "user.png"))

    # Webhooks: an endpoint registered on the page shows its secret once; its test delivery is listed.
    driver.find_element(By.LINK_TEXT, "Webhooks").click()
    driver.find_element(By.ID, "url").send_keys("http://127.0.0.1:9/kaito-hook")
    driver.find_element(By.CSS_SELECTOR, "input[name=topic][value='audit.event']").click()
    driver.find_element(By.ID, "actions").send_keys("token.*, key.*")
    driver.find_element(By.XPATH, "//button[text()='Register endpoint']").click()
    secret = driver.find_element(By.ID, "webhook-secret").text.strip()
    check(secret.startswith("whsec_"), f"the webhook page shows the secret once: {secret[:8]}")
    driver.find_element(By.XPATH, "//button[text()='Send a test delivery']").click()
    wait_for(lambda: "webhook.test" in driver.find_element(By.TAG_NAME, "main").text, "the test delivery listed")
    hook = re.search(r"whk_[0-9A-Z]{26}", driver.page_source).group(0)
    time.sleep(1.5)  # the dispatcher's first attempt (port 9 refuses it)
    driver.get(base + "/webhooks/" + hook)
    check("webhook.test" in driver.find_element(By.TAG_NAME, "main").text, "the webhook page lists the test delivery")
    if screenshots:
        driver.save_screenshot(os.path.join(screenshots, "webhook.png"))

    # The member sees the granted token only.
    member = browser_sized(1280, 900)
    member.get(base + "/login")
    member.find_element(By.ID, "email").send_keys("bob@example.com")
    member.find_element(By.ID, "password").send_keys(PASSWORD)
    member.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    at(member, base + "/login/second-factor", "the member after the password: ")
    member_totp = pyotp.TOTP(member.find_element(By.ID, "totp-secret").text.strip())
    member.find_element(By.ID, "code").send_keys(fresh_code(member_totp))
    member.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    at(member, base + "/tokens", "the member after the second factor: ")
    check(member.find_elements(By.ID, "code-aws-prod"), "the member sees aws-prod, granted")
    member.implicitly_wait(0)  # the page is there: absent elements need no waiting
    check(not member.find_elements(By.ID, "code-github-bot"), "the member does not see github-bot, not granted")
    check(not member.find_elements(By.LINK_TEXT, "Users"), "a member has no users page")

    # Messages: with an inbox chosen, a new message appears on the open page (no reload), with its code to copy.
    inbox = call(base, "POST", "/v1/inboxes", admin, {"phone_number": "+15550000001", "provider": "simulator", "label": "Shared phone"})["id"]
    driver.get(base + "/messages?inbox=" + inbox)
    driver.execute_script("window.kaitoMarker = 2;")
    time.sleep(0.5)  # the page's wait is under way
    call(base, "POST", f"/v1/inboxes/{inbox}/simulate", admin, {"from": "+15559990000", "body": "G-482913 is your Google verification code."})
    wait_for(lambda: "482913" in driver.find_element(By.ID, "messages").text, "the new message on the open messages page")
    check(driver.execute_script("return window.kaitoMarker;") == 2, "the message arrived without a reload")
    check(driver.find_elements(By.CSS_SELECTOR, "#messages button[data-copy]"), "the message's code has a copy button")
    # All inboxes: the page waits too, and shows which number received the message.
    other = call(base, "POST", "/v1/inboxes", admin, {"phone_number": "+15550000002", "provider": "simulator"})["id"]
    driver.find_element(By.LINK_TEXT, "All inboxes").click()
    wait_for(lambda: driver.current_url == base + "/messages", "the messages of all inboxes")
    driver.execute_script("window.kaitoMarker = 3;")
    time.sleep(0.5)
    call(base, "POST", f"/v1/inboxes/{other}/simulate", admin, {"from": "+15559990001", "body": "Your login code is 771204"})
    wait_for(lambda: "771204" in driver.find_element(By.ID, "messages").text, "the new message of another inbox on the page of all inboxes")
    newest = driver.find_element(By.CSS_SELECTOR, "#messages tbody tr").text
    check("+15550000002" in newest and driver.execute_script("return window.kaitoMarker;") == 3, f"arrived without a reload, with its number: {newest}")

    # 150 tokens: 50 to a page with a link to the next, and a search.
    subprocess.run(admin_command + ["set-plan", "default", "enterprise", "--data-dir", data_dir], env=env, check=True, capture_output=True)
    bulk = call(base, "POST", "/v1/keys", admin, {"name": "bulk", "scopes": ["tokens:write"], "rate_limits": {"write": 1000}})["key"]
    for index in range(148):
        call(base, "POST", "/v1/tokens", bulk, {"slug": f"t-{index:03d}", "name": f"Token {index}", "secret": SEED})
    driver.get(base + "/tokens")
    seen = []
    while True:
        seen += [row.get_attribute("data-slug") for row in driver.find_elements(By.CSS_SELECTOR, "tr[data-slug]")]
        following = driver.find_elements(By.CSS_SELECTOR, "a[rel=next]")
        if not following:
            break
        following[0].click()
        wait_for(lambda: "after=" in driver.current_url, "the next page of tokens")
    check(len(seen) == 150 and len(set(seen)) == 150, f"150 tokens across the pages: {len(seen)} rows, {len(set(seen))} distinct")
    driver.get(base + "/tokens")
    driver.find_element(By.ID, "q").send_keys("t-14\n")
    wait_for(lambda: "q=t-14" in driver.current_url, "the search's page")
    found = sorted(row.get_attribute("data-slug") for row in driver.find_elements(By.CSS_SELECTOR, "tr[data-slug]"))
    check(found == [f"t-{index}" for index in range(140, 148)], f"the search for t-14: {found}")

    # Every page fits a phone's width (no sideways scrolling), and the audit log a laptop's.
    fits(driver, base, "/audit")
    phone = browser_sized(390, 844)
    phone.get(base + "/login")
    phone.find_element(By.ID, "email").send_keys("alice@example.com")
    phone.find_element(By.ID, "password").send_keys(PASSWORD)
    phone.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    phone.find_element(By.ID, "code").send_keys(fresh_code(totp, last=totp.now()))
    phone.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    at(phone, base + "/tokens", "phone sign-in: ")
    if screenshots:
        phone.save_screenshot(os.path.join(screenshots, "tokens-phone.png"))
    for path in ["/tokens", "/tokens/aws-prod", "/messages", "/messages?inbox=" + inbox, "/keys", "/inboxes", "/webhooks", "/webhooks/" + hook, "/users", "/audit",
                 "/billing", "/account"]:
        fits(phone, base, path)
    current = phone.find_elements(By.CSS_SELECTOR, "header nav a[aria-current=page]")
    check([link.get_attribute("href") for link in current] == [base + "/account"],
          f"the current page is marked: {[link.get_attribute('href') for link in current]}")
    print("browser test: signed in with the second factor, created a key, fetched a code with it, granted a member one token,"
          " registered a webhook")


def main():
    binary = sys.argv[1]
    screenshots = sys.argv[sys.argv.index("--screenshots") + 1] if "--screenshots" in sys.argv else None
    drivers = []
    # The test endpoint on loopback (its deliveries are refused: nothing listens on port 9).
    with kaito_serve(binary, "kaito-browser-", {"KAITO_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32"}) as (base, data_dir, env):
        try:
            scenario(binary, base, data_dir, env, screenshots, drivers)
        finally:
            for driver in drivers:
                driver.quit()


if __name__ == "__main__":
    main()
