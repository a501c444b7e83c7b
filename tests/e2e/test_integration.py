"""The C integration tests of lib/ that need a real server, run against this
stack's own servers: tests/unit/test_db (the database layer) on its MariaDB,
tests/unit/test_amqp and test_worker (the broker handle, the worker runner)
on its RabbitMQ. Each program prints TAP; it fails here when it fails or
skips there. The broker tests run last: they use queues of their own, but
share the broker with the workers."""

import os
import subprocess

from tap import test


def _run_c_test(t, name, env):
    build = os.environ.get("top_builddir")
    if not build:
        t.skip("not run from make check (top_builddir unset)")
    prog = os.path.join(build, "tests", "unit", name)
    t.require(os.access(prog, os.X_OK), "%s was not built" % prog)
    out = subprocess.run([prog], env=dict(os.environ, **env), capture_output=True, timeout=300)
    text = out.stdout.decode(errors="replace")
    bad = [l for l in text.splitlines() if l.startswith("not ok") or "# SKIP" in l]
    t.require(out.returncode == 0 and not bad and "\nok " in "\n" + text,
              "%s exited %d:\n%s\n%s" % (name, out.returncode, text[-3000:],
                                          out.stderr.decode(errors="replace")[-2000:]))


@test
def db_layer_against_mariadb(t):
    sock = os.environ.get("SHOP_DB_SOCKET")
    pw = os.environ.get("SHOP_DB_ROOT_PASSWORD")
    t.require(sock and pw, "the stack env has no SHOP_DB_SOCKET / SHOP_DB_ROOT_PASSWORD")
    _run_c_test(t, "test_db", {"SHOP_TEST_DB_SOCKET": sock, "SHOP_TEST_DB_USER": "root",
                               "SHOP_TEST_DB_PASSWORD": pw, "SHOP_TEST_DB_NAME": "shop_unit_db"})


def _amqp_env(t):
    port = os.environ.get("SHOP_AMQP_PORT")
    pw = os.environ.get("SHOP_AMQP_PASSWORD")
    t.require(port and pw, "the stack env has no SHOP_AMQP_PORT / SHOP_AMQP_PASSWORD")
    return {"SHOP_TEST_AMQP_HOST": "127.0.0.1", "SHOP_TEST_AMQP_PORT": port,
            "SHOP_TEST_AMQP_VHOST": os.environ.get("SHOP_AMQP_VHOST", "shop"),
            "SHOP_TEST_AMQP_USER": os.environ.get("SHOP_AMQP_USER", "shop"),
            "SHOP_TEST_AMQP_PASSWORD": pw}


@test(last=True)
def amqp_handle_against_rabbitmq(t):
    _run_c_test(t, "test_amqp", _amqp_env(t))


@test(last=True)
def worker_runner_against_rabbitmq(t):
    _run_c_test(t, "test_worker", _amqp_env(t))
