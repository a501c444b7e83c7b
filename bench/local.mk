# The benchmark's own FastCGI peer (bench/README.md): built with the shop so
# that `./shop bench` finds it in the build directory, never installed.
noinst_PROGRAMS += bench/hello/shop-bench-hello
bench_hello_shop_bench_hello_SOURCES = bench/hello/hello.c
bench_hello_shop_bench_hello_LDADD = $(shop_ldadd)
# bench/ as a whole (scripts, the PHP peer, nginx locations, results).
EXTRA_DIST += bench
