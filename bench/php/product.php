<?php
// The LEMP peer of GET /api/v1/products/{id} (bench/README.md, "The peers"):
// what the catalog app does for that route, written the way a PHP shop
// would: PHP-FPM behind the same nginx, a persistent PDO connection to the
// same MariaDB as the same database user, the same query as a prepared
// statement, the same envelope through json_encode.
//
// nginx passes the request as to any PHP script (bench/peers.conf.in); the
// database settings come from the pool's environment (bench/php/pool.conf.in).

declare(strict_types=1);

function answer(int $code, array $envelope): void
{
    http_response_code($code);
    header('Content-Type: application/json');
    echo json_encode($envelope, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
}

function fail(int $code, string $message, string $error): void
{
    answer($code, ['status' => 'ERROR', 'code' => $code, 'message' => $message,
        'errors' => [['code' => $error]]]);
}

// The route: the id is the path's last segment, a positive integer.
$path = $_SERVER['DOCUMENT_URI'] ?? '';
if (!preg_match('#/products/([1-9][0-9]{0,17})$#', $path, $m)) {
    fail(400, 'Invalid id', 'INVALID_QUERY');
    return;
}
$id = (int)$m[1];

try {
    $db = new PDO(
        'mysql:unix_socket=' . getenv('SHOP_BENCH_DB_SOCKET') . ';dbname='
            . getenv('SHOP_BENCH_DB_NAME') . ';charset=utf8mb4',
        getenv('SHOP_BENCH_DB_USER'),
        getenv('SHOP_BENCH_DB_PASSWORD'),
        [
            PDO::ATTR_PERSISTENT => true,
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::MYSQL_ATTR_INIT_COMMAND => "SET time_zone = '+00:00'",
        ]
    );
    // The catalog app's SQL_PRODUCT_GET (fcgi-apps/catalog/catalog_sql.c).
    $st = $db->prepare(
        "SELECT p.id, p.sku, p.name, p.description, p.price_cents, p.currency, p.category_id,"
        . " p.seller_id, p.status, p.images,"
        . " DATE_FORMAT(p.created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_at,"
        . " DATE_FORMAT(p.updated_at, '%Y-%m-%dT%H:%i:%sZ') AS updated_at"
        . " FROM products p WHERE p.id = ?"
    );
    $st->execute([$id]);
    $row = $st->fetch(PDO::FETCH_ASSOC);
    $st->closeCursor();
} catch (PDOException $e) {
    error_log('product.php: ' . $e->getMessage());
    fail(503, 'Service unavailable', 'SERVICE_UNAVAILABLE');
    return;
}

// Archived products are not found for the public (no owner here).
if ($row === false || $row['status'] !== 'ACTIVE') {
    fail(404, 'Product not found', 'NOT_FOUND');
    return;
}
$images = json_decode((string)$row['images'], true);
answer(200, [
    'status' => 'SUCCESS',
    'code' => 200,
    'message' => 'Product',
    'data' => ['product' => [
        'id' => (int)$row['id'],
        'sku' => $row['sku'],
        'name' => $row['name'],
        'description' => $row['description'],
        'price_cents' => (int)$row['price_cents'],
        'currency' => $row['currency'],
        'category_id' => (int)$row['category_id'],
        'seller_id' => (int)$row['seller_id'],
        'status' => $row['status'],
        'images' => is_array($images) ? $images : [],
        'created_at' => $row['created_at'],
        'updated_at' => $row['updated_at'],
    ]],
]);
