"""Authentication and users: register, login, refresh, logout, users/me,
addresses, admin users, roles, disable."""

import re
import time

from tap import test
from shopclient import (API, User, conf_value, delete, email, fx, get, in_parallel, jwt_parts, login,
                        login_user, new_user, poll, post, put, qs, uniq, unwrap, walk)

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
USER_KEYS = {"id", "email", "name", "phone", "roles", "created_at"}


def check_user(t, u, what, email_=None, roles=None):
    if not t.ok(isinstance(u, dict), "%s: user is not an object: %r" % (what, u)):
        return
    missing = USER_KEYS - set(u)
    t.ok(not missing, "%s: user lacks %s" % (what, sorted(missing)))
    leaked = [k for k in u if "pass" in k.lower() or "hash" in k.lower() or "secret" in k.lower()]
    t.ok(not leaked, "%s: user exposes %s" % (what, leaked))
    t.ok(isinstance(u.get("id"), int) and not isinstance(u.get("id"), bool) and u["id"] > 0,
         "%s: id %r is not a positive integer" % (what, u.get("id")))
    t.ok(isinstance(u.get("created_at"), str) and TS_RE.match(u["created_at"]),
         "%s: created_at %r is not RFC 3339 UTC" % (what, u.get("created_at")))
    t.ok(isinstance(u.get("roles"), list), "%s: roles %r is not an array" % (what, u.get("roles")))
    if email_ is not None:
        t.eq(u.get("email"), email_, "%s: email" % what)
    if roles is not None:
        t.eq(sorted(u.get("roles") or []), sorted(roles), "%s: roles" % what)


def user_of(r):
    return unwrap(r.data, "user")


def items_of(r, name=None):
    d = r.data
    if isinstance(d, dict):
        if isinstance(d.get("items"), list):
            return d["items"]
        if name and isinstance(d.get(name), list):
            return d[name]
    if isinstance(d, list):
        return d
    return None


# ------------------------------------------------------------ register


@test
def register_ok(t):
    em = email("reg")
    r = post(API + "/auth/register", {"email": em, "password": "0123456789", "name": "Ada Lovelace"})
    t.require(t.expect(r, 201), "register failed")
    u = user_of(r)
    check_user(t, u, "register", em, ["CUSTOMER"])
    t.eq(u.get("name"), "Ada Lovelace", "register: name")
    t.eq(u.get("phone"), None, "register: phone of a new user")
    # the new account logs in with exactly that password
    r = login(em, "0123456789")
    t.expect(r, 200, what="login of the new account")


@test
def register_refusals(t):
    em = email("dup")
    body = {"email": em, "password": "0123456789ab", "name": "Dup"}
    t.expect(post(API + "/auth/register", body), 201)
    r = post(API + "/auth/register", dict(body, password="another-password", name="Dup 2"))
    t.expect(r, 409, "EMAIL_TAKEN", "register an e-mail twice")
    r = post(API + "/auth/register", dict(body, email=em.upper()))
    if r.status != 409:
        t.note("register %s after %s: HTTP %d (e-mail case is not folded)" % (em.upper(), em, r.status))
    # the second attempt changed nothing: the first password still works
    t.expect(login(em, "0123456789ab"), 200, what="login with the first password after a 409")

    short = email("short")
    r = post(API + "/auth/register", {"email": short, "password": "123456789", "name": "Short"})
    if t.expect(r, 400, what="register with a 9-character password"):
        t.isin("password", r.err_fields(), "register short password: errors name the field")
    t.expect(login(short, "123456789"), 401, "BAD_CREDENTIALS", "login after a refused register")

    for extra in ({"roles": ["ADMIN"]}, {"id": 1}, {"role": "ADMIN"}, {"is_admin": True},
                  {"disabled_at": None}, {"created_at": "2020-01-01T00:00:00Z"}):
        em2 = email("mass")
        b = {"email": em2, "password": "0123456789", "name": "Mass"}
        b.update(extra)
        r = post(API + "/auth/register", b)
        key = list(extra)[0]
        if t.expect(r, 400, "UNKNOWN_FIELD", "register with %r" % extra):
            t.isin(key, r.err_fields(), "register %r: errors name the field" % key)
        t.expect(login(em2, "0123456789"), 401, "BAD_CREDENTIALS",
                 "login after register refused for %r" % key)

    for b, what in (({"password": "0123456789", "name": "N"}, "no email"),
                    ({"email": email("np"), "name": "N"}, "no password"),
                    ({"email": email("nn"), "password": "0123456789"}, "no name"),
                    ({"email": "not-an-email", "password": "0123456789", "name": "N"}, "bad email"),
                    ({"email": "a@b", "password": "0123456789", "name": "N"}, "email without a tld"),
                    ({"email": " " + email("sp"), "password": "0123456789", "name": "N"},
                     "email with a blank"),
                    ({"email": email("en"), "password": "0123456789", "name": ""}, "empty name"),
                    ({"email": email("bn"), "password": "0123456789", "name": "   "}, "blank name"),
                    ({"email": email("ln"), "password": "0123456789", "name": " Lead"},
                     "name with a leading blank"),
                    ({}, "empty object")):
        t.expect(post(API + "/auth/register", b), 400, what="register, %s" % what)


# ------------------------------------------------------------ login


@test
def login_token_shape(t):
    u = new_user("login", do_login=False)
    before = int(time.time())
    r = login(u.email, u.password)
    t.require(t.expect(r, 200), "login failed")
    d = r.data or {}
    t.eq(d.get("token_type"), "Bearer", "login token_type")
    t.ok(isinstance(d.get("expires_in"), int) and d["expires_in"] > 0,
         "login expires_in %r" % d.get("expires_in"))
    rt = d.get("refresh_token")
    t.ok(isinstance(rt, str) and len(rt) >= 43, "refresh_token %r shorter than 256 bits" % rt)
    check_user(t, d.get("user"), "login user", u.email, ["CUSTOMER"])
    tok = d.get("access_token")
    t.require(isinstance(tok, str) and tok.count(".") == 2, "access_token %r is not a JWS" % tok)
    hdr, claims, sig = jwt_parts(tok)
    t.eq(hdr.get("alg"), "ES256", "token header alg")
    t.ok(isinstance(hdr.get("kid"), str) and hdr["kid"], "token header kid %r" % hdr.get("kid"))
    t.eq(len(sig), 64, "ES256 signature length (raw R||S)")
    t.eq(claims.get("iss"), "shop", "claim iss")
    aud = claims.get("aud")
    t.ok(aud == "shop-api" or (isinstance(aud, list) and "shop-api" in aud), "claim aud %r" % aud)
    t.eq(claims.get("sub"), str(u.id), "claim sub (user id as a string)")
    t.eq(claims.get("roles"), ["CUSTOMER"], "claim roles")
    t.ok(isinstance(claims.get("jti"), str) and claims["jti"], "claim jti %r" % claims.get("jti"))
    iat, exp = claims.get("iat"), claims.get("exp")
    t.ok(isinstance(iat, int) and abs(iat - before) <= 5, "claim iat %r, now %d" % (iat, before))
    t.ok(isinstance(exp, int) and isinstance(iat, int) and exp - iat == d.get("expires_in"),
         "exp - iat %r differs from expires_in %r" % (exp and iat and exp - iat, d.get("expires_in")))
    t.ok(isinstance(exp, int) and isinstance(iat, int) and exp - iat <= 900,
         "access token lives longer than 15 min: %r s" % (exp and iat and exp - iat))
    # the token works, and a second login gives a different pair
    r2 = get(API + "/users/me", token=tok)
    t.expect(r2, 200, what="GET /users/me with the new token")
    r3 = login(u.email, u.password)
    if t.expect(r3, 200, what="second login"):
        d3 = r3.data
        t.ok(d3["refresh_token"] != rt, "two logins gave the same refresh token")
        t.ok(jwt_parts(d3["access_token"])[1].get("jti") != claims.get("jti"),
             "two logins gave the same jti")


@test
def login_bad_credentials(t):
    u = new_user("badcred", do_login=False)
    r1 = login("nobody-" + email("x"), "0123456789")
    r2 = login(u.email, u.password + "x")
    r3 = login(u.email, u.password[:-1])
    r4 = login(u.email.upper(), u.password + "x")
    for r, what in ((r1, "unknown email"), (r2, "wrong password"), (r3, "password prefix"),
                    (r4, "upper-case email, wrong password")):
        t.expect(r, 401, "BAD_CREDENTIALS", "login with %s" % what)
    t.eq(r2.json, r1.json, "login: wrong password and unknown email answer the same body")
    t.ok(r1.header("www-authenticate") == r2.header("www-authenticate"),
         "login: WWW-Authenticate differs")
    for b, what in (({"email": u.email}, "no password"), ({"password": "0123456789"}, "no email"),
                    ({"email": u.email, "password": u.password, "remember": True}, "unknown field")):
        t.expect(post(API + "/auth/login", b), 400, what="login, %s" % what)


# ------------------------------------------------------------ refresh / logout


def refresh(rt, **kw):
    return post(API + "/auth/refresh", {"refresh_token": rt}, **kw)


@test
def refresh_rotation_and_reuse(t):
    u = new_user("refresh")
    other = login_user(User(u.email, u.password)).login  # a second, independent family
    a1, r1 = u.token, u.refresh
    r = refresh(r1)
    t.require(t.expect(r, 200, what="refresh"), "refresh failed")
    d = r.data or {}
    a2, r2 = d.get("access_token"), d.get("refresh_token")
    t.require(isinstance(a2, str) and isinstance(r2, str), "refresh gave no pair: %r" % r)
    t.ok(a2 != a1 and r2 != r1, "refresh returned the same tokens")
    t.expect(get(API + "/users/me", token=a2), 200, what="GET /users/me with the refreshed token")
    _, c2, _ = jwt_parts(a2)
    t.eq(c2.get("sub"), str(u.id), "refreshed token sub")
    # reuse of the used token: refused, and the family dies
    r = refresh(r1)
    t.expect(r, 401, "TOKEN_REUSED", "reuse of a used refresh token")
    r = refresh(r2)
    t.expect(r, 401, what="second-generation refresh token after a reuse (family revoked)")
    # the other login's family is untouched
    r = refresh(other["refresh_token"])
    t.expect(r, 200, what="refresh of another family after a reuse in the first")
    for bad in ("", "garbage", "x" * 43, r1 + "x", r1.upper()):
        r = refresh(bad)
        t.expect(r, (400, 401), what="refresh with %r" % bad[:20])
    t.expect(post(API + "/auth/refresh", {}), 400, what="refresh without refresh_token")
    t.expect(post(API + "/auth/refresh", {"refresh_token": 5}), 400, what="refresh_token a number")


@test
def logout(t):
    u = new_user("logout")
    r = post(API + "/auth/logout", {"refresh_token": u.refresh})
    t.expect(r, 200, what="logout")
    t.expect(refresh(u.refresh), 401, what="refresh after logout")
    # logout revokes the family: a token refreshed before the logout dies too
    login_user(u)
    r = refresh(u.refresh)
    t.require(t.expect(r, 200), "refresh failed")
    r2 = r.data["refresh_token"]
    t.expect(post(API + "/auth/logout", {"refresh_token": r2}), 200, what="logout with a refreshed token")
    t.expect(refresh(r2), 401, what="refresh after logout (second generation)")
    r = post(API + "/auth/logout", {"refresh_token": "garbage-" + uniq("g")})
    t.expect(r, (200, 401), what="logout with an unknown token")
    t.expect(post(API + "/auth/logout", {}), 400, what="logout without refresh_token")


@test
def races(t):
    """Single use and uniqueness hold under concurrent requests."""
    # one refresh token spent by 8 requests at once: exactly one new pair
    u = new_user("race")
    rs = in_parallel(lambda i: refresh(u.refresh, retry_429=False), 8)
    st = sorted(r.status for r in rs if r is not None)
    t.eq(st.count(200), 1, "concurrent refreshes of one token that succeeded (statuses %s)" % st)
    t.ok(all(s in (200, 401, 429) for s in st), "concurrent refresh statuses %s" % st)
    # one e-mail registered by 8 requests at once: exactly one account
    em = email("race")
    rs = in_parallel(lambda i: post(API + "/auth/register", {"email": em, "password": "0123456789-%d" % i,
                                                             "name": "Racer %d" % i}, retry_429=False), 8)
    st = sorted(r.status for r in rs if r is not None)
    t.eq(st.count(201), 1, "concurrent registrations of one e-mail that succeeded (statuses %s)" % st)
    t.ok(all(s in (201, 409, 429) for s in st), "concurrent register statuses %s" % st)
    for r in rs:
        if r is not None and r.status == 409:
            t.expect(r, 409, "EMAIL_TAKEN", "a losing concurrent registration")
            break
    r = get(API + "/admin/users" + qs(email=em), token=fx.admin.token)
    t.eq(len((r.data or {}).get("items") or []), 1, "accounts with the raced e-mail")


@test
def unicode_profile(t):
    u = new_user("uni", name="J\u00fcrgen \u5c71\u7530 \U0001F600")
    r = get(API + "/users/me", token=u.token)
    t.eq(user_of(r).get("name"), "J\u00fcrgen \u5c71\u7530 \U0001F600", "name with 4-byte UTF-8")
    r = post(API + "/users/me/addresses", {"line1": "\u5927\u901a\u308a 1 \U0001F3E0", "city": "\u6771\u4eac",
                                          "postal_code": "100-0001", "country": "JP"}, token=u.token)
    if t.expect(r, 201, what="address in Japanese with an emoji"):
        t.eq(unwrap(r.data, "address").get("line1"), "\u5927\u901a\u308a 1 \U0001F3E0", "line1 round trip")
    r = put(API + "/users/me", {"name": "x" * 100}, token=u.token)
    t.expect(r, 200, what="name of exactly 100 characters")
    r = put(API + "/users/me", {"name": "\U0001F600" * 100}, token=u.token)
    t.expect(r, 200, what="name of 100 four-byte characters")
    if r.status == 200:
        t.eq(user_of(get(API + "/users/me", token=u.token)).get("name"), "\U0001F600" * 100,
             "100 emoji read back")
    t.expect(put(API + "/users/me", {"name": "\U0001F600" * 101}, token=u.token), 400,
             what="name of 101 characters")


# ------------------------------------------------------------ users/me


@test
def users_me(t):
    u = new_user("me", name="Me Myself")
    r = get(API + "/users/me", token=u.token)
    t.require(t.expect(r, 200), "GET /users/me failed")
    check_user(t, user_of(r), "GET /users/me", u.email, ["CUSTOMER"])
    t.eq(user_of(r).get("id"), u.id, "GET /users/me id")
    r = put(API + "/users/me", {"phone": "+49 30 1234567"}, token=u.token)
    if t.expect(r, 200, what="PUT /users/me phone"):
        t.eq(user_of(r).get("phone"), "+49 30 1234567", "PUT /users/me answer phone")
        t.eq(user_of(r).get("name"), "Me Myself", "PUT /users/me keeps the name")
    r = put(API + "/users/me", {"name": "New Name"}, token=u.token)
    t.expect(r, 200, what="PUT /users/me name")
    r = get(API + "/users/me", token=u.token)
    t.eq(user_of(r).get("phone"), "+49 30 1234567", "phone after a name-only PUT")
    t.eq(user_of(r).get("name"), "New Name", "name after PUT")
    for b, code, what in (({"phone": "call me"}, None, "letters in phone"),
                          ({"phone": "1"}, None, "phone too short"),
                          ({"phone": "+" + "1" * 40}, None, "phone too long"),
                          ({"name": ""}, None, "empty name"),
                          ({"name": "x" * 5000}, None, "name of 5000 chars"),
                          ({"email": email("chg")}, "UNKNOWN_FIELD", "email"),
                          ({"roles": ["ADMIN"]}, "UNKNOWN_FIELD", "roles"),
                          ({"id": 1}, "UNKNOWN_FIELD", "id"),
                          ({"password": "0123456789xyz"}, "UNKNOWN_FIELD", "password")):
        t.expect(put(API + "/users/me", b, token=u.token), 400, code, "PUT /users/me with %s" % what)
    r = get(API + "/users/me", token=u.token)
    check_user(t, user_of(r), "GET /users/me after refused PUTs", u.email, ["CUSTOMER"])
    t.eq(user_of(r).get("phone"), "+49 30 1234567", "phone after refused PUTs")
    t.expect(get(API + "/users/me"), 401, what="GET /users/me anonymous")
    t.expect(put(API + "/users/me", {"name": "x"}), 401, what="PUT /users/me anonymous")


# ------------------------------------------------------------ addresses


def addr_body(**kw):
    b = {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
    b.update(kw)
    return b


def list_addresses(t, u):
    r = get(API + "/users/me/addresses", token=u.token)
    t.expect(r, 200, what="GET /users/me/addresses")
    items = items_of(r, "addresses")
    t.ok(isinstance(items, list), "address list is not a list: %r" % r)
    return items or []


@test
def addresses(t):
    u = new_user("addr")
    v = new_user("addr2")
    t.eq(list_addresses(t, u), [], "addresses of a new user")
    r = post(API + "/users/me/addresses", addr_body(line2="Hinterhaus"), token=u.token)
    t.require(t.expect(r, 201, what="POST address"), "creating an address failed")
    a = unwrap(r.data, "address")
    for k in ("id", "line1", "city", "postal_code", "country", "is_default"):
        t.ok(k in a, "address lacks %s: %r" % (k, a))
    t.eq(a.get("line2"), "Hinterhaus", "address line2")
    t.eq(a.get("country"), "DE", "address country")
    if a.get("is_default") is not True:
        t.note("the first address is not made the default: %r" % a)
    r = post(API + "/users/me/addresses", addr_body(line1="Zweite 2", is_default=True), token=u.token)
    t.require(t.expect(r, 201, what="POST second address (default)"), "creating an address failed")
    b = unwrap(r.data, "address")
    t.eq(b.get("is_default"), True, "the second address asked to be default")
    r = post(API + "/users/me/addresses", addr_body(line1="Dritte 3", is_default=False), token=u.token)
    t.require(t.expect(r, 201, what="POST third address"), "creating an address failed")
    c = unwrap(r.data, "address")
    t.eq(c.get("is_default"), False, "the third address (is_default false)")
    items = list_addresses(t, u)
    t.eq(sorted(x.get("id") for x in items), sorted([a["id"], b["id"], c["id"]]), "address ids listed")
    defaults = [x.get("id") for x in items if x.get("is_default")]
    t.eq(defaults, [b["id"]], "exactly one default address, the last one asked for")
    # another user can neither see nor delete them
    t.eq(list_addresses(t, v), [], "another user's address list")
    t.expect(delete(API + "/users/me/addresses/%d" % a["id"], token=v.token), 404,
             what="DELETE another user's address")
    t.expect(delete(API + "/users/me/addresses/999999999", token=u.token), 404,
             what="DELETE an unknown address")
    r = delete(API + "/users/me/addresses/%d" % b["id"], token=u.token)
    t.expect(r, 200, what="DELETE own (default) address")
    t.expect(delete(API + "/users/me/addresses/%d" % b["id"], token=u.token), 404,
             what="DELETE the same address again")
    items = list_addresses(t, u)
    t.eq(sorted(x.get("id") for x in items), sorted([a["id"], c["id"]]), "addresses after a delete")
    t.eq(sum(1 for x in items if x.get("is_default")), 1,
         "number of default addresses after deleting the default (%r)" % items)
    t.expect(delete(API + "/users/me/addresses/%d" % a["id"]), 401, what="DELETE address anonymous")


@test
def address_refusals(t):
    u = new_user("addrbad")
    cases = [(addr_body(country="de"), "lower-case country"),
             (addr_body(country="DEU"), "alpha-3 country"),
             (addr_body(country=""), "empty country"),
             (addr_body(country="D1"), "digit in country"),
             ({"city": "Berlin", "postal_code": "1", "country": "DE"}, "no line1"),
             ({"line1": "x", "postal_code": "1", "country": "DE"}, "no city"),
             ({"line1": "x", "city": "Berlin", "country": "DE"}, "no postal_code"),
             (addr_body(line1=""), "empty line1"),
             (addr_body(line1="x" * 3000), "line1 of 3000 chars"),
             (addr_body(is_default="yes"), "is_default a string"),
             (addr_body(user_id=1), "user_id"),
             (addr_body(id=5), "id")]
    for b, what in cases:
        code = "UNKNOWN_FIELD" if what in ("user_id", "id") else None
        t.expect(post(API + "/users/me/addresses", b, token=u.token), 400, code,
                 "POST address with %s" % what)
    t.eq(list_addresses(t, u), [], "no address stored by refused requests")


# ------------------------------------------------------------ admin


@test
def admin_users_list(t):
    admin = fx.admin
    tag = uniq("adm").lower()
    mine = [new_user(tag, do_login=False) for _ in range(4)]
    r = get(API + "/admin/users" + qs(email=mine[0].email), token=admin.token)
    if t.expect(r, 200, what="GET /admin/users?email="):
        items = items_of(r) or []
        t.eq([x.get("email") for x in items], [mine[0].email], "?email= finds exactly that user")
        if items:
            check_user(t, items[0], "admin list item", mine[0].email, ["CUSTOMER"])
    r = get(API + "/admin/users" + qs(email="nobody-" + email("none")), token=admin.token)
    if t.expect(r, 200, what="GET /admin/users?email=<unknown>"):
        t.eq(items_of(r), [], "?email= of nobody")
    # walk everything with a small page: no duplicates, every user found
    items, pages, prob = walk(API + "/admin/users", {"limit": 3}, token=admin.token)
    t.ok(prob is None, "walking /admin/users: %s" % prob)
    ids = [x.get("id") for x in items]
    t.eq(len(ids), len(set(ids)), "duplicate users across pages")
    for m in mine:
        t.isin(m.id, ids, "user registered before the walk")
    t.isin(fx.seller.id, ids, "demo seller in the admin list")
    t.ok(pages >= 2, "limit 3 gave a single page for %d users" % len(ids))
    # role filter
    items, _, prob = walk(API + "/admin/users", {"role": "SELLER", "limit": 100}, token=admin.token)
    t.ok(prob is None, "walking ?role=SELLER: %s" % prob)
    t.ok(all("SELLER" in (x.get("roles") or []) for x in items), "?role=SELLER gave non-sellers")
    t.isin(fx.seller.id, [x.get("id") for x in items], "demo seller in ?role=SELLER")
    t.ok(all(m.id not in [x.get("id") for x in items] for m in mine), "customers in ?role=SELLER")
    items, _, _ = walk(API + "/admin/users", {"role": "ADMIN", "limit": 100}, token=admin.token)
    t.isin(fx.admin.id, [x.get("id") for x in items], "demo admin in ?role=ADMIN")
    for q in ({"role": "ROOT"}, {"role": "seller"}, {"limit": 0}, {"limit": 101}, {"limit": "abc"},
              {"cursor": "not-a-cursor"}, {"nope": 1}):
        t.expect(get(API + "/admin/users" + qs(**q), token=admin.token), 400, "INVALID_QUERY",
                 "GET /admin/users?%s" % q)
    # only admins
    t.expect(get(API + "/admin/users", token=fx.customer.token), 403, "FORBIDDEN",
             "GET /admin/users as customer")
    t.expect(get(API + "/admin/users", token=fx.seller.token), 403, "FORBIDDEN",
             "GET /admin/users as seller")
    t.expect(get(API + "/admin/users"), 401, what="GET /admin/users anonymous")


@test
def admin_roles(t):
    admin = fx.admin
    u = new_user("roles")
    old_token = u.token
    r = put(API + "/admin/users/%d/roles" % u.id, {"roles": ["CUSTOMER", "SELLER"]}, token=admin.token)
    if t.expect(r, 200, what="PUT roles"):
        t.eq(sorted((user_of(r) or {}).get("roles") or []), ["CUSTOMER", "SELLER"], "PUT roles answer")
    r = get(API + "/admin/users" + qs(email=u.email), token=admin.token)
    items = items_of(r) or [{}]
    t.eq(sorted(items[0].get("roles") or []), ["CUSTOMER", "SELLER"], "roles in the admin list")
    r = refresh(u.refresh)
    if t.expect(r, 200, what="refresh after a promotion"):
        t.eq(sorted(jwt_parts(r.data["access_token"])[1].get("roles") or []), ["CUSTOMER", "SELLER"],
             "roles in a token refreshed after the promotion")
    login_user(u)
    t.eq(sorted(jwt_parts(u.token)[1].get("roles") or []), ["CUSTOMER", "SELLER"], "roles in a new token")
    t.expect(get(API + "/users/me", token=old_token), 200, what="the old token still works")
    r = post(API + "/products", {"sku": uniq("ROLE"), "name": "Role test", "description": "d",
                                 "price_cents": 100, "currency": "EUR",
                                 "category_id": fx.leaf_category()}, token=u.token)
    t.expect(r, 201, what="POST /products as a promoted seller")
    # demote again: the seller token signed before loses SELLER within the
    # auth app's user cache time ([auth] user_cache_ttl), a new one has none
    seller_token = u.token
    r = put(API + "/admin/users/%d/roles" % u.id, {"roles": ["CUSTOMER"]}, token=admin.token)
    t.expect(r, 200, what="PUT roles back to CUSTOMER")
    ttl = int(conf_value("auth", "user_cache_ttl", "60"))
    seen = {}

    def refused():
        seen["r"] = post(API + "/products", {"sku": uniq("ROLE"), "name": "Role test", "description": "d",
                                             "price_cents": 100, "currency": "EUR",
                                             "category_id": fx.leaf_category()}, token=seller_token)
        return seen["r"].status == 403
    t.ok(poll(refused, timeout=min(ttl, 60) + 5, interval=0.25),
         "a SELLER token signed before the demotion still creates products %d s later: %r"
         % (min(ttl, 60) + 5, seen.get("r")))
    login_user(u)
    r = post(API + "/products", {"sku": uniq("ROLE"), "name": "Role test", "description": "d",
                                 "price_cents": 100, "currency": "EUR",
                                 "category_id": fx.leaf_category()}, token=u.token)
    t.expect(r, 403, "FORBIDDEN", "POST /products after demotion")
    for b, what in (({"roles": ["ROOT"]}, "unknown role"), ({"roles": "ADMIN"}, "roles a string"),
                    ({"roles": ["admin"]}, "lower-case role"), ({}, "no roles"),
                    ({"roles": ["CUSTOMER"], "email": "x@y.com"}, "unknown field")):
        t.expect(put(API + "/admin/users/%d/roles" % u.id, b, token=admin.token), 400,
                 what="PUT roles with %s" % what)
    t.expect(put(API + "/admin/users/999999999/roles", {"roles": ["CUSTOMER"]}, token=admin.token),
             404, what="PUT roles of an unknown user")
    # nobody but an admin, least of all the user himself
    t.expect(put(API + "/admin/users/%d/roles" % u.id, {"roles": ["ADMIN"]}, token=u.token), 403,
             "FORBIDDEN", "self-promotion by a customer")
    t.expect(put(API + "/admin/users/%d/roles" % u.id, {"roles": ["ADMIN"]}, token=fx.seller.token),
             403, "FORBIDDEN", "promotion by a seller")
    t.expect(put(API + "/admin/users/%d/roles" % u.id, {"roles": ["ADMIN"]}), 401,
             what="promotion anonymous")
    r = get(API + "/admin/users" + qs(email=u.email), token=admin.token)
    items = items_of(r) or [{}]
    t.eq(items[0].get("roles"), ["CUSTOMER"], "roles after the refused promotions")


@test(background=True)
def admin_disable(t):
    """Disable: login and refresh refused at once; the live access token dies
    within 60 s (polled up to 65 s, in the background)."""
    admin = fx.admin
    u = new_user("disable")
    t.expect(get(API + "/users/me", token=u.token), 200, what="token before disable")
    t.expect(post(API + "/admin/users/%d/disable" % u.id, token=fx.customer.token), 403, "FORBIDDEN",
             "disable as a customer")
    t.expect(post(API + "/admin/users/999999999/disable", token=admin.token), 404,
             what="disable an unknown user")
    r = post(API + "/admin/users/%d/disable" % u.id, token=admin.token)
    t.require(t.expect(r, 200, what="disable"), "disable failed")
    t0 = time.monotonic()
    r_dis = login(u.email, u.password)
    t.expect(r_dis, 401, "BAD_CREDENTIALS", "login of a disabled user")
    r_unk = login("nobody-" + email("x"), u.password)
    t.eq(r_dis.json, r_unk.json, "disabled user and unknown email answer the same body")
    t.expect(refresh(u.refresh), 401, what="refresh of a disabled user")
    seen = {}

    def dead():
        r = get(API + "/users/me", token=u.token)
        seen["r"] = r
        return r.status == 401
    if poll(dead, timeout=65, interval=0.5):
        t.expect(seen["r"], 401, what="access token of a disabled user")
        t.note("access token refused %.1f s after disable" % (time.monotonic() - t0))
    else:
        t.fail("access token of a disabled user still works %.0f s after disable: %r"
               % (time.monotonic() - t0, seen.get("r")))
