"""A real SMTP listener for the test stacks: it accepts every message and
keeps it as files, so that tests can read what the notify worker sent.

    python3 smtp_sink.py --port PORT --dir DIR --pidfile FILE [--host 127.0.0.1]

Each message becomes, in arrival order (n = 000001, 000002, ...; numbering
goes on after the files already in DIR):
    DIR/<n>.eml    the raw data as received (bytes)
    DIR/<n>.json   {"n", "mail_from", "rcpt_tos", "data", "size", "peer",
                    "received_at", "mail_options", "rcpt_options"}
                   data: the message decoded as UTF-8 (bad bytes replaced)
Both are written to a temporary name and renamed, the .json last: a reader
that lists *.json only ever sees whole messages.

It binds HOST (127.0.0.1 only, by default) before it writes FILE (its pid),
so a pid file means it listens. SIGTERM or SIGINT: stop listening, remove
FILE, exit 0. No TLS, no AUTH (the test profile's smtp_starttls = off).
Needs Debian's python3-aiosmtpd (tests/harness/stack.sh picks an interpreter
that has it).
"""
import argparse
import asyncio
import datetime
import json
import logging
import os
import re
import signal
import sys

from aiosmtpd.smtp import SMTP

log = logging.getLogger("smtp-sink")


def write_atomic(path, data):
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


class Sink:
    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        last = 0
        for name in os.listdir(directory):
            m = re.match(r"^([0-9]+)\.(json|eml)$", name)
            if m:
                last = max(last, int(m.group(1)))
        self.n = last

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        name = "%06d" % self.n
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        peer = session.peer
        rec = {
            "n": self.n,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": raw.decode("utf-8", "replace"),
            "size": len(raw),
            "peer": "%s:%s" % (peer[0], peer[1]) if isinstance(peer, tuple) else str(peer),
            "received_at": datetime.datetime.now(datetime.timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "mail_options": list(envelope.mail_options or []),
            "rcpt_options": list(envelope.rcpt_options or []),
        }
        try:
            write_atomic(os.path.join(self.dir, name + ".eml"), raw)
            write_atomic(os.path.join(self.dir, name + ".json"),
                         (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
        except OSError as e:
            log.error("cannot store message %s: %s", name, e)
            return "451 Requested action aborted: cannot store the message"
        log.info("message %s from <%s> to %s, %d bytes", name, envelope.mail_from,
                 ",".join("<%s>" % r for r in envelope.rcpt_tos), len(raw))
        return "250 OK stored as %s" % name


def main():
    ap = argparse.ArgumentParser(description="SMTP sink of the test stacks")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--pidfile", required=True)
    args = ap.parse_args()

    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    sink = Sink(args.dir)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return SMTP(sink, hostname="sink.shop.test", enable_SMTPUTF8=True,
                    decode_data=False, data_size_limit=10 * 1024 * 1024, timeout=60)

    try:
        server = loop.run_until_complete(
            loop.create_server(factory, host=args.host, port=args.port, reuse_address=True))
    except OSError as e:
        log.error("cannot listen on %s:%d: %s", args.host, args.port, e)
        return 1
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    write_atomic(args.pidfile, b"%d\n" % os.getpid())
    log.info("listening on %s:%d, messages into %s (pid %d)", args.host, args.port,
             args.dir, os.getpid())
    try:
        loop.run_until_complete(stop.wait())
    finally:
        server.close()
        try:
            loop.run_until_complete(asyncio.wait_for(server.wait_closed(), 2))
        except asyncio.TimeoutError:
            pass
        try:
            with open(args.pidfile) as f:
                mine = f.read().strip() == str(os.getpid())
            if mine:
                os.unlink(args.pidfile)
        except OSError:
            pass
        loop.close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
