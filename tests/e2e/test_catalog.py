"""Catalog: product lists, search, filters, sorts, product and category writes."""

import base64
import random
import re
import string

from tap import test
from shopclient import (API, delete, request, flatten_categories, fx, get, in_parallel, new_product, poll, post,
                        put, qs, uniq, unwrap, walk)

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
PRODUCT_KEYS = {"id", "sku", "name", "description", "price_cents", "currency", "category_id",
                "seller_id", "status", "images", "created_at", "updated_at"}


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_product(t, p, what):
    if not t.ok(isinstance(p, dict), "%s: product is not an object: %r" % (what, p)):
        return
    missing = PRODUCT_KEYS - set(p)
    t.ok(not missing, "%s: product lacks %s" % (what, sorted(missing)))
    t.ok(is_int(p.get("id")) and p["id"] > 0, "%s: id %r" % (what, p.get("id")))
    t.ok(is_int(p.get("price_cents")) and p["price_cents"] >= 0,
         "%s: price_cents %r is not a non-negative integer" % (what, p.get("price_cents")))
    t.ok(isinstance(p.get("currency"), str) and re.match(r"^[A-Z]{3}$", p["currency"]),
         "%s: currency %r" % (what, p.get("currency")))
    t.ok(p.get("status") in ("ACTIVE", "ARCHIVED"), "%s: status %r" % (what, p.get("status")))
    t.ok(isinstance(p.get("images"), list), "%s: images %r is not an array" % (what, p.get("images")))
    for k in ("created_at", "updated_at"):
        t.ok(isinstance(p.get(k), str) and TS_RE.match(p[k]), "%s: %s %r" % (what, k, p.get(k)))
    t.ok(is_int(p.get("seller_id")), "%s: seller_id %r" % (what, p.get("seller_id")))
    t.ok(is_int(p.get("category_id")), "%s: category_id %r" % (what, p.get("category_id")))


def product_of(r):
    return unwrap(r.data, "product")


def list_items(r):
    d = r.data
    return d.get("items") if isinstance(d, dict) else None


def public_get(pid):
    return get(API + "/products/%d" % pid)


def find_in_list(params, pid, pages=30):
    items, _, _ = walk(API + "/products", params, max_pages=pages)
    return any(x.get("id") == pid for x in items)


@test
def list_shape(t):
    r = get(API + "/products")
    t.require(t.expect(r, 200), "GET /products failed")
    items = list_items(r)
    t.require(isinstance(items, list) and items, "GET /products: no items: %r" % r)
    t.ok(len(items) <= 20, "default limit is 20, got %d items" % len(items))
    t.ok("next_cursor" in r.data, "GET /products: no next_cursor key")
    for p in items:
        check_product(t, p, "list item %s" % p.get("id"))
        t.eq(p.get("status"), "ACTIVE", "list item %s status" % p.get("id"))
    r = get(API + "/products/%d" % items[0]["id"])
    if t.expect(r, 200, what="GET /products/{id}"):
        check_product(t, product_of(r), "GET /products/{id}")
        t.eq(product_of(r).get("id"), items[0]["id"], "GET /products/{id} id")
    t.expect(get(API + "/products/999999999"), 404, what="GET an unknown product")
    # HEAD is GET without the body, for the public and through the auth check alike
    r = request("HEAD", API + "/products/%d" % items[0]["id"], check_envelope=False)
    t.expect(r, 200, what="HEAD /products/{id}")
    t.ok(not r.raw, "HEAD /products/{id} sent a body")
    for lim in (1, 7, 100):
        r = get(API + "/products" + qs(limit=lim))
        if t.expect(r, 200, what="limit=%d" % lim):
            n = len(list_items(r) or [])
            t.ok(0 < n <= lim, "limit=%d gave %d items" % (lim, n))
    # every demo product in the walk is ACTIVE and unique
    items, pages, prob = walk(API + "/products", {"limit": 100})
    t.ok(prob is None, "walking /products: %s" % prob)
    ids = [p.get("id") for p in items]
    t.eq(len(ids), len(set(ids)), "duplicates in a full walk")
    t.ok(len(ids) >= 100, "only %d products listed (demo data has ~300)" % len(ids))
    t.ok(all(p.get("status") == "ACTIVE" for p in items), "non-ACTIVE products listed")


@test
def list_query_refusals(t):
    r = get(API + "/products" + qs(sort="price", limit=3))
    cur_price = (r.data or {}).get("next_cursor")
    bad = [{"limit": 0}, {"limit": 101}, {"limit": -1}, {"limit": "abc"}, {"limit": "1.5"},
           {"limit": ""}, {"limit": "1e1"}, {"limit": " 5"}, {"limit": "0x10"},
           {"limit": "99999999999999999999"},
           {"cursor": "garbage"}, {"cursor": "!!!"}, {"cursor": ""}, {"cursor": "eyJ4IjoxfQ"},
           {"cursor": "A" * 500},
           {"sort": "bogus"}, {"sort": "price;drop"}, {"sort": ""}, {"sort": "PRICE"},
           {"min_price": -1}, {"min_price": "abc"}, {"max_price": "1.5"},
           {"max_price": "99999999999999999999"},
           {"category": "abc"}, {"category": 0}, {"category": -3},
           {"seller": "abc"}, {"seller": 0},
           {"nope": 1}, {"q": "x" * 2000}]
    if cur_price:
        bad.append({"sort": "newest", "cursor": cur_price})
        bad.append({"sort": "-price", "cursor": cur_price})
    else:
        t.fail("GET /products?sort=price&limit=3 gave no next_cursor")
    for q in bad:
        r = get(API + "/products" + qs(**q))
        t.expect(r, 400, "INVALID_QUERY", "GET /products?%s" % qs(**q)[1:][:80])
    for raw in ("?limit=5&limit=6", "?sort=price&sort=newest", "?limit", "?=x", "?q=%zz", "?q=%00",
                "?q=%ff%fe", "?q=a%"):
        r = get(API + "/products" + raw)
        t.expect(r, 400, "INVALID_QUERY", "GET /products%s" % raw)


@test
def search(t):
    word = "zq" + "".join(random.choice(string.ascii_lowercase) for _ in range(9))
    p = new_product(name="Lamp %s deluxe" % word, description="a lamp")
    q = new_product(name="Chair", description="comfortable %s chair" % word)
    new_product(name="Table plain", description="no magic word here")
    got = {}

    def found():
        r = get(API + "/products" + qs(q=word))
        got["r"] = r
        ids = [x.get("id") for x in list_items(r) or []]
        return p["id"] in ids and q["id"] in ids
    t.ok(poll(found), "?q=%s does not find the products named/described with it: %r" % (word, got.get("r")))
    items = list_items(got["r"]) or []
    t.eq(sorted(x.get("id") for x in items), sorted([p["id"], q["id"]]), "?q= finds exactly those")
    r = get(API + "/products" + qs(q=word.upper()))
    t.eq(sorted(x.get("id") for x in list_items(r) or []), sorted([p["id"], q["id"]]),
         "?q= is case-insensitive")
    # a word of a demo product's name
    r = get(API + "/products" + qs(limit=50))
    demo = [x for x in list_items(r) or [] if x.get("seller_id") == fx.seller.id]
    t.require(demo, "no demo product on the first page")
    words = [w for x in demo for w in re.findall(r"[A-Za-z]{5,}", x.get("name", ""))]
    t.require(words, "demo product names have no word of 5+ letters")
    w = words[0]
    r = get(API + "/products" + qs(q=w, limit=100))
    if t.expect(r, 200, what="?q=%s" % w):
        items = list_items(r) or []
        t.ok(items, "?q=%s (a word of a demo product name) finds nothing" % w)
        for x in items:
            text = (x.get("name", "") + " " + x.get("description", "")).lower()
            t.ok(w.lower() in text, "?q=%s returned %r which does not contain it" % (w, x.get("name")))
    r = get(API + "/products" + qs(q="nothingmatchesthis" + word))
    if t.expect(r, 200, what="?q= with no match"):
        t.eq(list_items(r), [], "?q= with no match")


def category_ids(cats, root):
    kids = {}
    for c in cats:
        kids.setdefault(c.get("parent_id"), []).append(c["id"])
    out, todo = set(), [root]
    while todo:
        c = todo.pop()
        out.add(c)
        todo.extend(kids.get(c, []))
    return out


@test
def categories_and_descendants(t):
    admin = fx.admin
    r = get(API + "/categories")
    t.require(t.expect(r, 200), "GET /categories failed")
    cats = fx.categories()
    for c in cats:
        t.ok(is_int(c.get("id")) and isinstance(c.get("name"), str) and "parent_id" in c,
             "category shape %r" % c)
    # a new subtree: P > C > G, a product in G
    r = post(API + "/categories", {"name": "E2E parent " + uniq("c")}, token=admin.token)
    t.require(t.expect(r, 201, what="POST /categories"), "creating a category failed")
    P = unwrap(r.data, "category")
    t.eq(P.get("parent_id"), None, "a root category's parent_id")
    r = post(API + "/categories", {"name": "E2E child " + uniq("c"), "parent_id": P["id"]},
             token=admin.token)
    t.require(t.expect(r, 201, what="POST /categories child"), "creating a category failed")
    C = unwrap(r.data, "category")
    t.eq(C.get("parent_id"), P["id"], "child category parent_id")
    r = post(API + "/categories", {"name": "E2E grandchild " + uniq("c"), "parent_id": C["id"]},
             token=admin.token)
    t.require(t.expect(r, 201, what="POST /categories grandchild"), "creating a category failed")
    G = unwrap(r.data, "category")
    prod = new_product(category_id=G["id"])
    other = new_product()
    for cat, what in ((P, "grandparent"), (C, "parent"), (G, "own category")):
        def found(cat=cat):
            r = get(API + "/products" + qs(category=cat["id"]))
            return r.status == 200 and [x.get("id") for x in list_items(r) or []] == [prod["id"]]
        t.ok(poll(found), "?category=<%s> does not list exactly the product below it" % what)
    # Public reads may come from nginx's microcache: a write shows within 1 s (API.md).
    def all_listed():
        listed = {c.get("id"): c for c in flatten_categories(get(API + "/categories")) or []}
        return listed if all(x["id"] in listed for x in (P, C, G)) else None
    listed = poll(all_listed, timeout=1.2) or \
        {c.get("id"): c for c in flatten_categories(get(API + "/categories")) or []}
    for x in (P, C, G):
        if t.isin(x["id"], listed, "new category in GET /categories"):
            t.eq(listed[x["id"]].get("parent_id"), x.get("parent_id"), "parent_id in GET /categories")
    # demo data: a category with children lists only products in its subtree
    parents = {c.get("parent_id") for c in cats if c.get("parent_id") is not None}
    if parents:
        root = sorted(parents)[0]
        sub = category_ids(cats, root)
        items, _, prob = walk(API + "/products", {"category": root, "limit": 100}, max_pages=10)
        t.ok(prob is None, "walking ?category=%d: %s" % (root, prob))
        t.ok(items, "?category=%d (a demo category with children) lists nothing" % root)
        t.ok(all(x.get("category_id") in sub for x in items),
             "?category=%d lists products outside its subtree" % root)
        t.ok(any(x.get("category_id") != root for x in items) or not (sub - {root}),
             "?category=%d lists no product of a descendant category" % root)
    t.ok(other["id"] not in [x.get("id") for x in
                             list_items(get(API + "/products" + qs(category=P["id"]))) or []],
         "a product of another category is listed under P")
    # refusals
    for b, what in (({}, "no name"), ({"name": ""}, "empty name"), ({"name": "x" * 1000}, "long name"),
                    ({"name": "x", "parent_id": 999999999}, "unknown parent"),
                    ({"name": "x", "parent_id": 0}, "parent 0"),
                    ({"name": "x", "parent_id": "1"}, "parent a string"),
                    ({"name": "x", "id": 5}, "id")):
        r = post(API + "/categories", b, token=admin.token)
        t.expect(r, (400, 404, 409) if what == "unknown parent" else 400,
                 what="POST /categories with %s" % what)
    t.expect(get(API + "/products" + qs(category=999999999)), (200, 404),
             what="?category=<unknown>")


@test
def price_filter_and_sorts(t):
    price = 100000 + random.randrange(1000000)
    p = new_product(price_cents=price)

    def found():
        r = get(API + "/products" + qs(min_price=price, max_price=price))
        return p["id"] in [x.get("id") for x in list_items(r) or []]
    t.ok(poll(found), "?min_price=?max_price= equal to the price does not find the product")
    r = get(API + "/products" + qs(min_price=price + 1))
    t.ok(p["id"] not in [x.get("id") for x in list_items(r) or []], "min_price above the price lists it")
    r = get(API + "/products" + qs(max_price=price - 1, limit=100))
    t.ok(p["id"] not in [x.get("id") for x in list_items(r) or []], "max_price below the price lists it")
    items, _, prob = walk(API + "/products", {"min_price": 1000, "max_price": 5000, "limit": 100})
    t.ok(prob is None, "walking a price range: %s" % prob)
    t.ok(items, "no demo product between 10.00 and 50.00")
    bad = [x for x in items if not 1000 <= x.get("price_cents", -1) <= 5000]
    t.ok(not bad, "price range 1000..5000 lists %r" % [(x["id"], x.get("price_cents")) for x in bad[:5]])
    r = get(API + "/products" + qs(min_price=5000, max_price=1000))
    t.expect(r, (200, 400), what="min_price > max_price")
    if r.status == 200:
        t.eq(list_items(r), [], "min_price > max_price lists products")
    # sort orders, over a full walk
    for sort, key, desc in (("price", "price_cents", False), ("-price", "price_cents", True),
                            ("newest", "created_at", True)):
        items, _, prob = walk(API + "/products", {"sort": sort, "limit": 100})
        t.ok(prob is None, "walking sort=%s: %s" % (sort, prob))
        vals = [x.get(key) for x in items]
        want = sorted(vals, reverse=desc)
        if vals != want:
            i = next(i for i in range(len(vals)) if vals[i] != want[i])
            t.fail("sort=%s is out of order at %d: %r" % (sort, i, vals[max(0, i - 2):i + 3]))
        ids = [x.get("id") for x in items]
        t.eq(len(ids), len(set(ids)), "sort=%s: duplicates in the walk" % sort)
    # seller filter
    s2 = fx.seller2
    mine = new_product(owner=s2)

    def by_seller():
        r = get(API + "/products" + qs(seller=s2.id, limit=100))
        items = list_items(r) or []
        return items if mine["id"] in [x.get("id") for x in items] else None
    items = poll(by_seller)
    t.ok(items, "?seller=<id> does not list that seller's new product")
    t.ok(all(x.get("seller_id") == s2.id for x in items or []), "?seller= lists other sellers' products")


@test
def product_lifecycle(t):
    seller, s2, cust, admin = fx.seller, fx.seller2, fx.customer, fx.admin
    body = {"sku": uniq("LC"), "name": "Lifecycle product", "description": "line one\nline two",
            "price_cents": 2599, "currency": "EUR", "category_id": fx.leaf_category(),
            "initial_stock": 3}
    r = post(API + "/products", body, token=seller.token)
    t.require(t.expect(r, 201, what="POST /products"), "create failed")
    p = product_of(r)
    check_product(t, p, "created product")
    for k in ("sku", "name", "description", "price_cents", "currency", "category_id"):
        t.eq(p.get(k), body[k], "created product %s" % k)
    t.eq(p.get("seller_id"), seller.id, "created product seller_id")
    t.eq(p.get("status"), "ACTIVE", "created product status")
    t.ok("initial_stock" not in p, "product exposes initial_stock")
    pid = p["id"]
    path = API + "/products/%d" % pid

    def visible():
        r = public_get(pid)
        return r.status == 200 and product_of(r)
    got = poll(visible)
    t.ok(got, "new product not publicly visible")
    if got:
        t.eq({k: got.get(k) for k in PRODUCT_KEYS}, {k: p.get(k) for k in PRODUCT_KEYS},
             "public GET equals the create answer")
    # SKU is unique, also across sellers
    t.expect(post(API + "/products", dict(body, name="Other"), token=seller.token), 409, "SKU_TAKEN",
             "POST /products with a taken SKU")
    t.expect(post(API + "/products", dict(body, name="Other"), token=s2.token), 409, "SKU_TAKEN",
             "POST /products with another seller's SKU")
    # partial update by the owner
    r = put(path, {"price_cents": 2999}, token=seller.token)
    if t.expect(r, 200, what="PUT price by the owner"):
        q = product_of(r)
        t.eq(q.get("price_cents"), 2999, "PUT answer price")
        t.eq(q.get("name"), body["name"], "PUT keeps the name")
        t.ok(q.get("updated_at", "") >= p.get("updated_at", ""), "updated_at went back")
    t.ok(poll(lambda: (product_of(public_get(pid)) or {}).get("price_cents") == 2999),
         "public GET does not show the new price within 2.5 s")
    # refusals of the fields nobody may set
    for b, what in (({"seller_id": s2.id}, "seller_id"), ({"status": "ARCHIVED"}, "status"),
                    ({"initial_stock": 5}, "initial_stock"), ({"id": pid + 1}, "id"),
                    ({"created_at": "2000-01-01T00:00:00Z"}, "created_at"),
                    ({"roles": ["ADMIN"]}, "roles"), ({"stock": 5}, "stock")):
        t.expect(put(path, b, token=seller.token), 400, "UNKNOWN_FIELD" if what != "initial_stock" else None,
                 "PUT product with %s" % what)
    for b, what in (({"seller_id": s2.id}, "seller_id"), ({"status": "ARCHIVED"}, "status"),
                    ({"roles": ["ADMIN"]}, "roles"), ({"id": 1}, "id"), ({"owner_id": 1}, "owner_id")):
        nb = dict(body, sku=uniq("MA"))
        nb.update(b)
        t.expect(post(API + "/products", nb, token=seller.token), 400, "UNKNOWN_FIELD",
                 "POST product with %s" % what)
    # others: another seller sees 404, a customer 403, anonymous 401
    t.expect(put(path, {"name": "hijacked"}, token=s2.token), 404, what="PUT by another seller")
    t.expect(delete(path, token=s2.token), 404, what="DELETE by another seller")
    t.expect(put(path, {"name": "hijacked"}, token=cust.token), 403, "FORBIDDEN", "PUT by a customer")
    t.expect(delete(path, token=cust.token), 403, "FORBIDDEN", "DELETE by a customer")
    t.expect(put(path, {"name": "hijacked"}), 401, what="PUT anonymous")
    t.expect(delete(path), 401, what="DELETE anonymous")
    r = public_get(pid)
    q = product_of(r) or {}
    t.eq((q.get("name"), q.get("seller_id"), q.get("status")), (body["name"], seller.id, "ACTIVE"),
         "product after the refused writes")
    # the admin may edit
    r = put(path, {"name": "Renamed by admin"}, token=admin.token)
    if t.expect(r, 200, what="PUT by the admin"):
        t.eq(product_of(r).get("seller_id"), seller.id, "admin edit keeps the seller")
    # archive
    t.expect(delete(path, token=seller.token), 200, what="DELETE (archive) by the owner")
    t.ok(poll(lambda: public_get(pid).status == 404), "archived product still public after 2.5 s")
    t.expect(public_get(pid), 404, what="public GET of an archived product")
    t.ok(poll(lambda: not find_in_list({"seller": seller.id, "sort": "newest", "limit": 20}, pid, pages=1)),
         "archived product still listed")
    # admin archives another seller's product
    p2 = new_product(owner=s2)
    t.expect(delete(API + "/products/%d" % p2["id"], token=admin.token), 200,
             what="DELETE by the admin")
    t.ok(poll(lambda: public_get(p2["id"]).status == 404), "product archived by the admin still public")
    t.expect(put(API + "/products/999999999", {"name": "x"}, token=admin.token), 404,
             what="PUT an unknown product")
    t.expect(delete(API + "/products/999999999", token=admin.token), 404, what="DELETE an unknown product")


@test
def product_validation(t):
    seller = fx.seller

    def body(**kw):
        b = {"sku": uniq("V"), "name": "Valid", "description": "d", "price_cents": 100,
             "currency": "EUR", "category_id": fx.leaf_category()}
        b.update(kw)
        return {k: v for k, v in b.items() if v is not None}
    cases = [(body(price_cents=-1), "negative price"),
             (body(price_cents="100"), "price a string"),
             (body(price_cents=1.5), "fractional price"),
             (body(price_cents=1e2), "price 1e2 (a float)"),
             (body(price_cents=99999999999999999999), "huge price"),
             (body(price_cents=None), "no price"),
             (body(currency="eur"), "lower-case currency"),
             (body(currency="EURO"), "currency of 4 letters"),
             (body(currency="XYZ"), "unknown currency"),
             (body(currency=None), "no currency"),
             (body(sku="has space"), "sku with a blank"),
             (body(sku="x" * 65), "sku of 65 chars"),
             (body(sku=""), "empty sku"),
             (body(name=""), "empty name"),
             (body(name="x" * 10000), "name of 10000 chars"),
             (body(name=None), "no name"),
             (body(category_id=0), "category 0"),
             (body(category_id=-1), "negative category"),
             (body(category_id="1"), "category a string"),
             (body(initial_stock=-1), "negative initial_stock"),
             (body(initial_stock=99999999999999999999), "huge initial_stock"),
             (body(images=["http://x/y.png"], price_cents=-5), "images and a bad price")]
    for b, what in cases:
        t.expect(post(API + "/products", b, token=seller.token), 400, what="POST /products, %s" % what)
    r = post(API + "/products", body(category_id=999999999), token=seller.token)
    t.expect(r, (400, 404, 409), what="POST /products with an unknown category")
    p = new_product()
    path = API + "/products/%d" % p["id"]
    for b, what in (({"price_cents": -1}, "negative price"), ({"name": ""}, "empty name"),
                    ({"currency": "eur"}, "bad currency"), ({"sku": "bad sku"}, "bad sku"),
                    ({"category_id": 0}, "category 0"), ({"price_cents": None}, "price null")):
        t.expect(put(path, b, token=seller.token), 400, what="PUT product, %s" % what)
    q = product_of(public_get(p["id"])) or {}
    t.eq((q.get("price_cents"), q.get("name"), q.get("currency")),
         (p["price_cents"], p["name"], p["currency"]), "product after refused PUTs")


@test
def sku_race(t):
    sku = uniq("RACE")
    sellers = [fx.seller, fx.seller2]

    def create(i):
        return post(API + "/products", {"sku": sku, "name": "Race %d" % i, "description": "d",
                                        "price_cents": 100 + i, "currency": "EUR",
                                        "category_id": fx.leaf_category()}, token=sellers[i % 2].token)
    rs = in_parallel(create, 8)
    st = sorted(r.status for r in rs if r is not None)
    t.eq(st.count(201), 1, "concurrent creates of one SKU that succeeded (statuses %s)" % st)
    t.ok(all(s in (201, 409) for s in st), "concurrent create statuses %s" % st)
    for r in rs:
        if r is not None and r.status == 409:
            t.expect(r, 409, "SKU_TAKEN", "a losing concurrent create")
            break


@test
def cursor_tampering(t):
    r = get(API + "/products" + qs(sort="price", limit=5))
    cur = (r.data or {}).get("next_cursor")
    t.require(isinstance(cur, str) and cur, "no cursor to tamper with: %r" % r)
    rnd = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "-_=+/."
    variants = {cur[:-1], cur[:len(cur) // 2], cur + "A", cur + "==", "A" + cur, cur[::-1], cur.upper()}
    for _ in range(30):
        i = rnd.randrange(len(cur))
        variants.add(cur[:i] + rnd.choice(alphabet) + cur[i + 1:])
    variants.discard(cur)
    for v in sorted(variants):
        r = get(API + "/products" + qs(sort="price", limit=5, cursor=v))
        t.expect(r, (200, 400), what="?cursor=%s (tampered)" % v)
        if r.status == 400:
            t.isin("INVALID_QUERY", r.err_codes(), "tampered cursor %s" % v)
    # a cursor built by hand on the visible format, when it is one
    try:
        plain = base64.urlsafe_b64decode(cur + "=" * (-len(cur) % 4)).decode("ascii")
    except Exception:
        plain = None
    if plain and "|" in plain:
        parts = plain.split("|")
        for bad in ([parts[0], parts[1], "abc", "1"], [parts[0], parts[1], "1", "0"],
                    [parts[0], parts[1], "1", "-1"], [parts[0], parts[1], "99999999999999999999", "1"],
                    [parts[0], "newest", "1", "1"], ["v9", parts[1], "1", "1"], parts + ["x"],
                    [parts[0], parts[1], "1' OR 1=1 --", "1"]):
            b = base64.urlsafe_b64encode("|".join(bad).encode()).decode().rstrip("=")
            r = get(API + "/products" + qs(sort="price", limit=5, cursor=b))
            t.expect(r, 400, "INVALID_QUERY", "?cursor=<%s>" % "|".join(bad))


@test
def collation_duplicates(t):
    """Names the database compares as equal are conflicts (4xx), never 5xx."""
    admin, seller = fx.admin, fx.seller
    base = "Cafe " + uniq("c")
    r = post(API + "/categories", {"name": base}, token=admin.token)
    t.require(t.expect(r, 201, what="POST /categories"), "creating a category failed")
    for name in (base, base.upper(), base.replace("Cafe", "Caf\u00e9")):
        r = post(API + "/categories", {"name": name}, token=admin.token)
        t.expect(r, (201, 409), what="POST /categories %r after %r" % (name, base))
    sku = uniq("Case")
    new_product(sku=sku)
    for s2 in (sku.upper(), sku.lower()):
        r = post(API + "/products", {"sku": s2, "name": "Case", "description": "d", "price_cents": 1,
                                     "currency": "EUR", "category_id": fx.leaf_category()},
                 token=seller.token)
        t.expect(r, (201, 409), "SKU_TAKEN" if r.status == 409 else None,
                 "POST /products sku %s after %s" % (s2, sku))


@test
def unicode_round_trip(t):
    text = "Z\u00fcrich \u65e5\u672c \U0001F680 \u00e9\u0301 \u202e"
    p = new_product(name="E2E " + text.replace("\u202e", "").strip(), description=text)
    r = public_get(p["id"])
    q = product_of(r) or {}
    t.eq(q.get("description"), text, "product description with 4-byte UTF-8")
    t.eq(q.get("name"), "E2E " + text.replace("\u202e", "").strip(), "product name with 4-byte UTF-8")
    r = post(API + "/categories", {"name": "E2E \U0001F680 " + uniq("u")}, token=fx.admin.token)
    t.expect(r, 201, what="category with an emoji")
    r = post(API + "/inventory/%d/adjust" % p["id"], {"delta": 1, "reason": "E2E \U0001F680 restock"},
             token=fx.seller.token)
    t.expect(r, 200, what="adjust with an emoji reason")
