# Fault scenarios against a real stack (tests/fault/chaos.py): RabbitMQ,
# workers, pool workers and MariaDB killed or stopped under load, and the
# payment webhook twice, out of order and late; then the books. The short
# form runs here (tests/fault/run.sh: one stack, every scenario once, TAP);
# the long form is `./shop chaos [--orders N] [--rounds R]` (tests/fault/chaos.sh).
TESTS += tests/fault/run.sh
# Every file of tests/fault (run.sh, chaos.sh and the Python scenarios).
EXTRA_DIST += tests/fault
