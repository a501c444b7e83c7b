/* The request layer's entry point (lib/req.c): serves one FastCGI request
 * with app's routes. Used by the pool runner's glue (lib/app.c) and the
 * request fuzz target; apps never call it. */
#ifndef SHOP_SERVE_H
#define SHOP_SERVE_H

#include <fcgiapp.h>

struct shop_app;
struct shop_arena;
struct shop_conf;
struct shop_db;

void shop_req_serve(FCGX_Request *fr, const struct shop_app *app, struct shop_arena *arena,
    struct shop_db *db, const struct shop_conf *conf, void *app_ctx, void *thread_ctx);

#endif
