# The sim payment provider: payment.requested → charge → signed webhook (docs/events.md).
bin_PROGRAMS += workers/payment-sim/shop-payment-sim
workers_payment_sim_shop_payment_sim_SOURCES = \
	workers/payment-sim/main.c \
	workers/payment-sim/sim.c \
	workers/payment-sim/provider.h \
	fcgi-apps/payments/signature.c \
	fcgi-apps/payments/signature.h
workers_payment_sim_shop_payment_sim_LDADD = $(shop_ldadd)
