"""The processes of the stack under test: their pids (from $SHOP_VAR/run and
the command lines that prove they are this stack's), the children of a pool
master, signals, and `./shop up` / `./shop restart-pools` run the way the
test harness runs them (the stack's own settings, the build it runs from).

Only processes whose command line names $SHOP_VAR are ever signalled."""

import os
import signal
import socket
import subprocess
import time

VAR = os.environ.get("SHOP_VAR", "").rstrip("/")
ROOT = os.environ.get("SHOP_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

POOLS = ["auth", "identity", "catalog", "cart", "orders", "payments", "shipping", "notify"]
WORKERS = ["outbox-relay", "inventory", "order-worker", "payment-sim", "payments-worker",
           "shipping-worker", "notify-worker"]

# The settings that ./shop must take from the stack's shop.env, never from us.
_STACK_KEYS = ("SHOP_HTTP_PORT", "SHOP_DB_PORT", "SHOP_AMQP_PORT", "SHOP_MGMT_PORT",
               "SHOP_DIST_PORT", "SHOP_EPMD_PORT", "SHOP_PROFILE", "SHOP_BASE_URL",
               "SHOP_SMTP_PORT")


def now():
    return time.monotonic()


def _pidfile(name):
    if name == "nginx":
        return os.path.join(VAR, "nginx", "nginx.pid")
    if name == "mariadb":
        return os.path.join(VAR, "run", "mysqld.pid")
    return os.path.join(VAR, "run", name + ".pid")


def _pattern(name):
    """What the command line of this stack's NAME contains (as ./shop's
    proc_pattern: the blank keeps the shipping pool apart from the worker)."""
    if name == "mariadb":
        return "--datadir=%s/mysql" % VAR
    if name == "rabbitmq":
        return VAR + "/rabbitmq"
    if name == "nginx":
        return VAR + "/nginx/"
    return "shop-%s " % name


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def alive(pid):
    """A live process (not a zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def pid_of(name):
    """The pid of this stack's NAME (a pool master, a worker, mariadb,
    rabbitmq, nginx) when it runs, else None."""
    try:
        with open(_pidfile(name)) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    cmd = cmdline(pid) + " "
    if not alive(pid) or VAR + "/" not in cmd or _pattern(name) not in cmd:
        return None
    return pid


def children(pid):
    """The live child processes of pid (a pool master's workers)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                rest = f.read().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if rest[0] != "Z" and int(rest[1]) == pid:
            out.append(int(d))
    return sorted(out)


def signal_pid(pid, sig):
    """Sends sig to pid, a process of this stack (checked again here)."""
    if VAR + "/" not in cmdline(pid) + " ":
        raise RuntimeError("pid %d is not a process of the stack in %s" % (pid, VAR))
    os.kill(pid, sig)


def wait_gone(pid, timeout):
    deadline = now() + timeout
    while alive(pid):
        if now() >= deadline:
            return False
        time.sleep(0.005)
    return True


def stack_pids():
    """{name: pid} of every pool master and worker that runs."""
    out = {}
    for n in POOLS + WORKERS:
        p = pid_of(n)
        if p is not None:
            out[n] = p
    return out


def _build():
    try:
        with open(os.path.join(VAR, "run", "build")) as f:
            return f.read().strip() or None
    except OSError:
        return None


def shop(*args, timeout=180):
    """Runs ./shop ARGS for the stack (its settings from its shop.env, the
    binaries of the build it runs from, no build). Returns (returncode,
    output, seconds)."""
    env = {k: v for k, v in os.environ.items() if k not in _STACK_KEYS}
    env["SHOP_VAR"] = VAR
    b = _build()
    if b:
        env["SHOP_BUILD"] = b
    env["SHOP_SKIP_BUILD"] = "1"
    t0 = now()
    try:
        p = subprocess.run([os.path.join(ROOT, "shop")] + list(args), env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        rc, out = p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        rc, out = -1, ((e.stdout or b"").decode("utf-8", "replace") + "\n(timed out after %d s)" % timeout)
    return rc, out, now() - t0


def socket_answers(path):
    """A unix socket accepts connections (MariaDB's once it is ready)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def log_tail(name, n=15):
    """The last n lines of $SHOP_VAR/log/<name>.log (for reports)."""
    try:
        with open(os.path.join(VAR, "log", name + ".log"), "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            lines = f.read().decode("utf-8", "replace").splitlines()
        return lines[-n:]
    except OSError:
        return []


def log_grep(name, needle, since_bytes=0):
    """Lines of $SHOP_VAR/log/<name>.log after offset since_bytes that contain needle."""
    try:
        with open(os.path.join(VAR, "log", name + ".log"), "rb") as f:
            f.seek(since_bytes)
            return [ln for ln in f.read().decode("utf-8", "replace").splitlines() if needle in ln]
    except OSError:
        return []


def log_size(name):
    try:
        return os.path.getsize(os.path.join(VAR, "log", name + ".log"))
    except OSError:
        return 0


SIGKILL = signal.SIGKILL
SIGTERM = signal.SIGTERM
SIGSTOP = signal.SIGSTOP
