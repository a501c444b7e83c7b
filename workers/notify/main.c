/* shop-notify-worker: the notification worker (notify_worker.h).
 *
 *   shop-notify-worker -c var/shop.conf [-P PIDFILE]
 *
 * Configuration section [notify-worker]:
 *   db_user (shop_notify), db_password, db_name (shop_notify),
 *   prefetch, max_attempts (5; also the sends a notification gets),
 *   delivery = spool | smtp (spool),
 *   spool_dir (default [mail] spool_dir, else <var_dir>/mail),
 *   smtp_host (127.0.0.1), smtp_port (25), smtp_starttls = off | try | required
 *   (try), smtp_user, smtp_password (AUTH only when smtp_user is set),
 *   smtp_connect_timeout (10 s), smtp_timeout (60 s, the whole transaction),
 *   mail_from ("Shop <shop@shop.test>": From, MAIL FROM, and the domain of
 *   the Message-IDs), templates_dir (workers/notify/templates of the source
 *   tree this program was built from). */
#include "lib/worker.h"
#include "workers/notify/notify_worker.h"

static const char *const routing_keys[] = {
	"user.registered", "order.placed", "payment.succeeded", "payment.failed",
	"order.cancelled", "order.expired", "order.shipped", "order.delivered",
	"order.refunded", NULL
};

static const struct shop_worker worker = {
	.name = "notify-worker",
	.queue = "notify.events",
	.routing_keys = routing_keys,
	.sql = nw_sql,
	.nsql = NW_SQL_COUNT,
	.init = nw_init,
	.handle = nw_handle,
	.fini = nw_fini,
};

int main(int argc, char **argv)
{
	return shop_worker_main(&worker, argc, argv);
}
