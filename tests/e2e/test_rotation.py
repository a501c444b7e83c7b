"""JWT key rotation as an operator does it: `./shop rotate-key` adds a signing
key; tokens signed with the old key keep working, new tokens carry the new
kid, and the JWKS publishes both. Runs last: it restarts the auth and
identity pools of this stack."""

import base64
import json
import os
import subprocess

from tap import test
from shopclient import API, SHOP_VAR, get, login_user, new_user


def _kid(token):
    h = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"]


def _kids():
    r = get("/.well-known/jwks.json")
    return [k["kid"] for k in (r.json or {}).get("keys", [])] if r.status == 200 else None


@test(last=True)
def rotate_key(t):
    root = os.environ.get("SHOP_ROOT")
    if not root or not SHOP_VAR:
        t.skip("no SHOP_ROOT / SHOP_VAR: not a harness stack")
    u = new_user("rot")
    old_token, before = u.token, _kids()
    t.require(before and _kid(old_token) in before, "JWKS %r lacks the token's kid" % before)
    out = subprocess.run([os.path.join(root, "shop"), "rotate-key"], capture_output=True, timeout=120,
                         env=dict(os.environ, SHOP_VAR=SHOP_VAR))
    t.require(out.returncode == 0, "rotate-key failed: %s" % (out.stdout + out.stderr).decode()[-2000:])
    after = _kids()
    t.require(after and set(before) < set(after) and len(after) == len(before) + 1,
              "JWKS before %r, after %r: one key more expected" % (before, after))
    t.expect(get(API + "/users/me", token=old_token), 200, what="a token of the old key after rotation")
    login_user(u)
    new_kid = _kid(u.token)
    t.require(new_kid in after and new_kid not in before, "new token kid %r not the new key" % new_kid)
    t.expect(get(API + "/users/me", token=u.token), 200, what="a token of the new key")
