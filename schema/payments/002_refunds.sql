-- Refunds (issue 4): POST /payments/{id}/refund marks a SUCCEEDED payment as
-- being refunded and asks its provider (refund.requested); the provider's
-- signed webhook refund.succeeded then moves it to REFUNDED. Run in database
-- shop_payments; idempotent (every statement may run again).
--
-- refund_requested_at  when an admin asked for the refund; NULL: never asked.
--                      Set once: a second request finds it (409
--                      REFUND_IN_PROGRESS), and the webhook only refunds a
--                      payment that has it.
-- refund_restock       the admin's "the goods came back" flag, carried into
--                      payment.refunded so that the order worker can decide
--                      whether stock returns (docs/events.md).
--
-- active_order_id (001) stays as it is: it is the order's id only while the
-- payment is PROCESSING or SUCCEEDED, so a REFUNDED payment is not live and
-- holds no order. A SUCCEEDED payment with a refund pending still is.
ALTER TABLE payments
	ADD COLUMN IF NOT EXISTS refund_requested_at DATETIME(3) NULL AFTER failure_reason,
	ADD COLUMN IF NOT EXISTS refund_restock BOOLEAN NOT NULL DEFAULT FALSE
	    AFTER refund_requested_at;
