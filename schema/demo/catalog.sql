-- Demo catalog: a category tree and @demo_products ACTIVE products of the
-- demo seller, with stock and INITIAL ledger rows.
--
-- Run as root by `./shop up` after `SET @seller_id = <demo seller id>,
-- @demo_products = <N>` (default 1000). Idempotent: categories are matched by
-- (parent, name), products are only created when DEMO-00001 does not exist
-- yet, stock and ledger rows only where they are missing. Names and
-- descriptions combine word lists deterministically, so a given N always
-- gives the same catalog, and full-text search finds "lamp", "coffee", ...

USE shop_catalog;
SET time_zone = '+00:00';
SET SESSION max_recursive_iterations = 10000000;

-- The category tree: roots, children, grandchildren (21 categories).
CREATE TEMPORARY TABLE demo_cat (
	name VARCHAR(100) NOT NULL,
	parent VARCHAR(100) NULL,
	grandparent VARCHAR(100) NULL,
	PRIMARY KEY (name)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO demo_cat (name, parent, grandparent) VALUES
	('Home & Kitchen', NULL, NULL),
	('Electronics', NULL, NULL),
	('Outdoor & Sports', NULL, NULL),
	('Kitchen', 'Home & Kitchen', NULL),
	('Lighting', 'Home & Kitchen', NULL),
	('Furniture', 'Home & Kitchen', NULL),
	('Audio', 'Electronics', NULL),
	('Computer Accessories', 'Electronics', NULL),
	('Camping', 'Outdoor & Sports', NULL),
	('Cycling', 'Outdoor & Sports', NULL),
	('Fitness', 'Outdoor & Sports', NULL),
	('Coffee & Tea', 'Kitchen', 'Home & Kitchen'),
	('Cookware', 'Kitchen', 'Home & Kitchen'),
	('Desk Lamps', 'Lighting', 'Home & Kitchen'),
	('Floor Lamps', 'Lighting', 'Home & Kitchen'),
	('Chairs', 'Furniture', 'Home & Kitchen'),
	('Tables', 'Furniture', 'Home & Kitchen'),
	('Headphones', 'Audio', 'Electronics'),
	('Speakers', 'Audio', 'Electronics'),
	('Keyboards', 'Computer Accessories', 'Electronics'),
	('Mice', 'Computer Accessories', 'Electronics');

-- INSERT IGNORE: the unique key (parent, name) makes a second run a no-op.
INSERT IGNORE INTO categories (name, parent_id)
SELECT d.name, NULL FROM demo_cat d WHERE d.parent IS NULL;

INSERT IGNORE INTO categories (name, parent_id)
SELECT d.name, p.id
FROM demo_cat d
JOIN categories p ON p.name = d.parent AND p.parent_id IS NULL
WHERE d.parent IS NOT NULL AND d.grandparent IS NULL;

INSERT IGNORE INTO categories (name, parent_id)
SELECT d.name, p.id
FROM demo_cat d
JOIN categories g ON g.name = d.grandparent AND g.parent_id IS NULL
JOIN categories p ON p.name = d.parent AND p.parent_id = g.id
WHERE d.grandparent IS NOT NULL;

-- The closure of the whole tree (rows that exist already are kept).
INSERT IGNORE INTO category_paths (ancestor_id, descendant_id, depth)
WITH RECURSIVE cp (ancestor_id, descendant_id, depth) AS (
	SELECT id, id, 0 FROM categories
	UNION ALL
	SELECT cp.ancestor_id, c.id, cp.depth + 1
	FROM cp JOIN categories c ON c.parent_id = cp.descendant_id
)
SELECT ancestor_id, descendant_id, depth FROM cp;

-- Product kinds: a noun, its leaf category (by grandparent/parent/name),
-- a base price and a sentence about it.
CREATE TEMPORARY TABLE demo_kind (
	idx INT NOT NULL,
	noun VARCHAR(60) NOT NULL,
	category VARCHAR(100) NOT NULL,
	base_cents INT NOT NULL,
	blurb VARCHAR(200) NOT NULL,
	category_id BIGINT UNSIGNED NULL,
	PRIMARY KEY (idx)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO demo_kind (idx, noun, category, base_cents, blurb) VALUES
	(0, 'Coffee Grinder', 'Coffee & Tea', 5900, 'Conical burrs grind coffee beans evenly for espresso or filter coffee.'),
	(1, 'Coffee Maker', 'Coffee & Tea', 8900, 'Brews a full pot of coffee in minutes and keeps it warm.'),
	(2, 'Tea Kettle', 'Coffee & Tea', 3900, 'Boils water quickly for tea, with a whistle when it is ready.'),
	(3, 'Espresso Cup Set', 'Coffee & Tea', 2400, 'Four cups with saucers for espresso, cappuccino and strong coffee.'),
	(4, 'French Press', 'Coffee & Tea', 2900, 'Makes rich coffee or loose leaf tea with a fine steel mesh filter.'),
	(5, 'Frying Pan', 'Cookware', 3400, 'A non-stick pan that heats evenly on gas, electric and induction hobs.'),
	(6, 'Saucepan', 'Cookware', 2900, 'A deep pan with a glass lid for sauces, soups and rice.'),
	(7, 'Dutch Oven', 'Cookware', 7900, 'Cast iron pot for stews, bread and slow cooking in the oven.'),
	(8, 'Desk Lamp', 'Desk Lamps', 3900, 'An adjustable lamp with a warm LED light for reading and working.'),
	(9, 'Reading Lamp', 'Desk Lamps', 2900, 'A compact lamp with a flexible neck that clips onto a desk or shelf.'),
	(10, 'Floor Lamp', 'Floor Lamps', 8900, 'A tall lamp that lights a whole living room with soft indirect light.'),
	(11, 'Arc Lamp', 'Floor Lamps', 14900, 'A curved floor lamp that reaches over a sofa or a dining table.'),
	(12, 'Armchair', 'Chairs', 24900, 'A comfortable chair with padded arms and a high back.'),
	(13, 'Office Chair', 'Chairs', 19900, 'An ergonomic chair with lumbar support and adjustable height.'),
	(14, 'Coffee Table', 'Tables', 12900, 'A low table for the living room with a shelf for magazines.'),
	(15, 'Side Table', 'Tables', 5900, 'A small table beside a sofa or a bed for a lamp and a book.'),
	(16, 'Headphones', 'Headphones', 9900, 'Over-ear headphones with noise cancelling and long battery life.'),
	(17, 'Earbuds', 'Headphones', 6900, 'Wireless earbuds with a charging case and clear calls.'),
	(18, 'Bluetooth Speaker', 'Speakers', 5900, 'A portable speaker with deep bass that survives rain and sand.'),
	(19, 'Bookshelf Speaker', 'Speakers', 17900, 'A pair of speakers with detailed sound for music and films.'),
	(20, 'Mechanical Keyboard', 'Keyboards', 8900, 'A keyboard with tactile switches, backlight and a detachable cable.'),
	(21, 'Wireless Mouse', 'Mice', 2900, 'A quiet mouse with a precise sensor and a battery that lasts months.'),
	(22, 'Tent', 'Camping', 15900, 'A two-person tent that pitches in minutes and keeps the rain out.'),
	(23, 'Sleeping Bag', 'Camping', 7900, 'A warm sleeping bag that packs small for hiking and camping.'),
	(24, 'Camping Lantern', 'Camping', 2400, 'A rechargeable lantern that lights a tent or a campsite all night.'),
	(25, 'Bike Light Set', 'Cycling', 3400, 'Front and rear lights for cycling at night, charged over USB.'),
	(26, 'Bike Helmet', 'Cycling', 5900, 'A light, ventilated helmet for commuting and road cycling.'),
	(27, 'Yoga Mat', 'Fitness', 2900, 'A thick non-slip mat for yoga, pilates and stretching.'),
	(28, 'Dumbbell Set', 'Fitness', 6900, 'Adjustable dumbbells for strength training at home.'),
	(29, 'Water Bottle', 'Fitness', 1900, 'An insulated bottle that keeps drinks cold for a day.');

UPDATE demo_kind k
JOIN categories c ON c.name = k.category
JOIN categories p ON p.id = c.parent_id
JOIN demo_cat d ON d.name = k.category AND d.parent = p.name
SET k.category_id = c.id;

START TRANSACTION;

-- Products DEMO-00001 .. DEMO-<N>: kind n mod 30, adjective and colour from
-- further digits of n, price the kind's base ±20%, ending in 99 cents.
INSERT INTO products (sku, name, description, price_cents, currency, category_id, seller_id,
	status, created_at, updated_at)
WITH RECURSIVE seq (n) AS (
	SELECT 1
	UNION ALL
	SELECT n + 1 FROM seq WHERE n < COALESCE(@demo_products, 1000)
)
SELECT
	CONCAT('DEMO-', LPAD(s.n, GREATEST(5, LENGTH(s.n)), '0')),
	CONCAT(ELT(1 + (s.n DIV 30) MOD 16, 'Classic', 'Modern', 'Compact', 'Deluxe', 'Essential',
		'Nordic', 'Urban', 'Vintage', 'Premium', 'Everyday', 'Studio', 'Travel', 'Pro',
		'Eco', 'Smart', 'Heritage'),
		' ',
		ELT(1 + (s.n DIV 480) MOD 12, 'Black', 'White', 'Oak', 'Walnut', 'Steel', 'Copper',
		'Sage', 'Navy', 'Sand', 'Graphite', 'Terracotta', 'Ivory'),
		' ', k.noun),
	CONCAT(k.blurb, ' ',
		ELT(1 + (s.n * 7) MOD 10,
		'Finished in a colour that suits any room.',
		'Built to last, with a two-year warranty.',
		'Easy to clean and easy to store.',
		'Designed in Europe and tested for everyday use.',
		'Made with recycled materials where possible.',
		'A popular gift that ships in plastic-free packaging.',
		'Light enough to carry, sturdy enough to rely on.',
		'Rated highly by customers for quality and value.',
		'Comes with a simple guide and spare parts.',
		'A quiet, efficient design that saves energy.')),
	(FLOOR(k.base_cents * (80 + (s.n * 13) MOD 41) / 10000) * 100) + 99,
	'EUR',
	k.category_id,
	@seller_id,
	'ACTIVE',
	UTC_TIMESTAMP() - INTERVAL (COALESCE(@demo_products, 1000) - s.n) MINUTE,
	UTC_TIMESTAMP() - INTERVAL (COALESCE(@demo_products, 1000) - s.n) MINUTE
FROM seq s
JOIN demo_kind k ON k.idx = s.n MOD 30
WHERE @seller_id IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM products WHERE sku = 'DEMO-00001')
ORDER BY s.n;

-- Stock 50..500 for every demo product that has no stock row yet, and its
-- INITIAL ledger row (written first, while "has no stock row" still tells
-- which products are new).
INSERT INTO stock_ledger (product_id, delta_on_hand, delta_reserved, kind, reason, actor_user_id)
SELECT p.id, 50 + (p.id * 37) MOD 451, 0, 'INITIAL', 'demo data', p.seller_id
FROM products p
LEFT JOIN stock s ON s.product_id = p.id
WHERE p.sku LIKE 'DEMO-%' AND s.product_id IS NULL;

INSERT INTO stock (product_id, on_hand, reserved)
SELECT p.id, 50 + (p.id * 37) MOD 451, 0
FROM products p
LEFT JOIN stock s ON s.product_id = p.id
WHERE p.sku LIKE 'DEMO-%' AND s.product_id IS NULL;

COMMIT;

DROP TEMPORARY TABLE demo_kind;
DROP TEMPORARY TABLE demo_cat;
