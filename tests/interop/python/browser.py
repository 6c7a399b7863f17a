"""A scripted browser without JavaScript for the interop suite: it signs a user in on Gatehouse's pages the
way browser automation written for Entra does, by Entra's field names (loginfmt, passwd, idSIButton9 to
accept consent), and delivers the answer to the client: it follows the redirect, or posts the
form_post form, to the client's redirect URI.

As a module: sign_in(url, ...) returns the final redirect URL (and follows it when follow=True).
As the BROWSER of Python's webbrowser module (MSAL Python's and azure-identity's interactive flows):
`browser.py URL` forks, returns at once, and signs in as the fixture's user in the background.
For other languages' tests: `browser.py --print URL` signs in and prints the URL the client was sent to;
`browser.py --device BASE USER_CODE` approves a device flow's user code at BASE/devicelogin.
"""
import json
import os
import sys
from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

import requests


class _Form(HTMLParser):
    """The first form of a page: its action and its named inputs (submit buttons by id)."""

    def __init__(self):
        super().__init__()
        self.action, self.fields, self.ids, self.in_form, self.done = None, {}, set(), False, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self.done:
            self.action, self.in_form = a.get("action"), True
        elif self.in_form and tag in ("input", "button"):
            if a.get("id"):
                self.ids.add(a["id"])
            if a.get("type") in ("hidden",) and a.get("name"):
                self.fields[a["name"]] = a.get("value", "")
            elif a.get("name"):
                self.fields.setdefault("_visible", []).append(a["name"])

    def handle_endtag(self, tag):
        if tag == "form" and self.in_form:
            self.in_form, self.done = False, True


def sign_in(url, username, password, ca, follow=True, accept=True, new_password=None, session=None):
    """Walks the pages from `url` until Gatehouse sends the browser to the client; returns the URL it was
    sent to (for form_post, the action with the posted fields as a query string)."""
    s = session or requests.Session()
    s.verify, s.trust_env = ca, False
    host = urlparse(url).netloc
    r = s.get(url, allow_redirects=False)
    for _ in range(12):
        if r.status_code in (301, 302, 303):
            target = urljoin(r.url, r.headers["location"])
            if urlparse(target).netloc == host:
                r = s.get(target, allow_redirects=False)
                continue
            if follow:
                requests.get(target, verify=False, timeout=10)
            return target
        form = _Form()
        form.feed(r.text)
        if form.action is None:
            raise RuntimeError(f"no form on the page ({r.status_code}): {r.text[:2000]}")
        action = urljoin(r.url, form.action)
        fields = {k: v for k, v in form.fields.items() if k != "_visible"}
        visible = form.fields.get("_visible", [])
        if urlparse(action).netloc != host:  # response_mode=form_post: the answer goes to the client
            if follow:
                requests.post(action, data=fields, verify=False, timeout=10)
            return action + "?" + "&".join(f"{k}={v}" for k, v in fields.items())
        if "newPassword" in visible:
            fields.update(oldPassword=password, newPassword=new_password, confirmNewPassword=new_password)
        elif "passwd" in visible:
            fields.update(passwd=password)
        elif "loginfmt" in visible:
            fields.update(loginfmt=username)
        elif "idBtn_Back" in form.ids and "accept" in visible:
            fields.update({"accept" if accept else "cancel": "x"})
        elif "account" in visible:
            fields.update(account="current")
        elif "otc" in visible:
            raise RuntimeError("a device code page: use device_login()")
        r = s.post(action, data=fields, allow_redirects=False)
    raise RuntimeError("the sign-in did not finish")


def device_login(base, user_code, username, password, ca):
    """Enters a device flow's user code at /devicelogin, confirms, signs in; returns the last page."""
    s = requests.Session()
    s.verify, s.trust_env = ca, False
    r = s.get(f"{base}/devicelogin", allow_redirects=False)
    for _ in range(12):
        form = _Form()
        form.feed(r.text)
        if form.action is None:
            return r.text
        fields = {k: v for k, v in form.fields.items() if k != "_visible"}
        visible = form.fields.get("_visible", [])
        if "otc" in visible:
            fields.update(otc=user_code)
        elif "passwd" in visible:
            fields.update(passwd=password)
        elif "loginfmt" in visible:
            fields.update(loginfmt=username)
        elif "idBtn_Back" in form.ids:
            fields.update(accept="x")
        r = s.post(urljoin(r.url, form.action), data=fields, allow_redirects=False)
    raise RuntimeError("the device sign-in did not finish")


if __name__ == "__main__" and sys.argv[1] == "--print":
    fix = json.load(open(os.environ["GATEHOUSE_FIXTURE"]))
    print(sign_in(sys.argv[2], fix["user_upn"], fix["user_password"], fix["ca"], follow=False))
elif __name__ == "__main__" and sys.argv[1] == "--device":
    fix = json.load(open(os.environ["GATEHOUSE_FIXTURE"]))
    device_login(sys.argv[2], sys.argv[3], fix["user_upn"], fix["user_password"], fix["ca"])
elif __name__ == "__main__":
    # The BROWSER hook: return at once (webbrowser waits for us), sign in from a child process.
    if os.fork() == 0:
        fix = json.load(open(os.environ["GATEHOUSE_FIXTURE"]))
        log = open(os.environ.get("GATEHOUSE_BROWSER_LOG", os.devnull), "a")
        try:
            print("signed in:", sign_in(sys.argv[1], fix["user_upn"], fix["user_password"], fix["ca"]), file=log)
        except Exception as e:  # the test fails on its own timeout; the log says why
            print("browser failed:", repr(e), file=log)
        os._exit(0)
