# Leaks that grow with requests: the orders pool and the inventory worker of a
# private test stack under valgrind, N rounds then 10 x N (tests/valgrind/run.sh).
# Not part of make check (about a minute): make valgrind [VALGRIND_ROUNDS=N].
# Needs a normal build (no --enable-sanitizers / --enable-fuzzing).
EXTRA_DIST += tests/valgrind/run.sh tests/valgrind/load.py

valgrind: all
	@SHOP_BUILD='$(abs_top_builddir)' bash $(top_srcdir)/tests/valgrind/run.sh $(VALGRIND_ROUNDS)
.PHONY: valgrind
