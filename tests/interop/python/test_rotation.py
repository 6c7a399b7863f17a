"""Key rotation while tokens are issued and verified (security-requirements.md §5.7): an operator runs
`gatehouse keys rotate` against the live server's store while this test requests tokens continuously and
verifies each with one long-lived PyJWKClient that refetches JWKS only on an unknown kid. The new key is
published 3 s before it signs, longer than the client's 2 s cool-down, so no verification may fail.
"""
import ssl
import subprocess
import threading
import time

import jwt
import requests

from test_clients import FIX


def test_rotation_under_load_causes_no_verification_failure():
    jwks = jwt.PyJWKClient(FIX["jwks_uri"], ssl_context=ssl.create_default_context(cafile=FIX["ca"]),
                           cooldown_duration=2)
    session = requests.Session()
    session.verify = FIX["ca"]
    url = f"{FIX['base']}/{FIX['tenant_id']}/oauth2/v2.0/token"
    form = {"grant_type": "client_credentials", "client_id": FIX["client_id"],
            "client_secret": FIX["client_secret"], "scope": FIX["api_scope"]}
    rotated = {}

    def rotate():
        time.sleep(1)
        rotated["out"] = subprocess.run(
            [FIX["gatehouse_bin"], "keys", "rotate", "--data-dir", FIX["data_dir"], "--key-prepublish", "3"],
            capture_output=True, text=True, check=True).stdout

    operator = threading.Thread(target=rotate)
    operator.start()
    kids, verified, failures = set(), 0, []
    deadline = time.time() + 7
    while time.time() < deadline:
        r = session.post(url, data=form)
        if r.status_code == 429:
            # Asking as fast as one thread can, this client meets its rate limit: it backs off as
            # told, as MSAL would.
            time.sleep(float(r.headers["Retry-After"]))
            continue
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        kid = jwt.get_unverified_header(token)["kid"]
        try:
            key = jwks.get_signing_key_from_jwt(token)
            jwt.decode(token, key, algorithms=["RS256"], audience=FIX["api_app_id"], issuer=FIX["issuer_v2"])
            verified += 1
        except jwt.PyJWTError as e:
            failures.append(f"{kid}: {e}")
        kids.add(kid)
    operator.join()
    assert '"added": true' in rotated["out"], rotated
    assert not failures, f"{len(failures)} of {verified + len(failures)} failed: {failures[:3]}"
    assert len(kids) == 2, f"tokens were signed by the old key, then by the new one: {kids}"
    assert verified > 50
