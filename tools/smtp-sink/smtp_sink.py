#!/usr/bin/python3
"""A local SMTP relay for tests and the demo: accepts every message (aiosmtpd, Debian's
python3-aiosmtpd) and appends it, decoded, as one JSON line to OUT_DIR/mail.jsonl:

    {"from": ..., "to": [...], "subject": ..., "body": ...}

and the raw message as OUT_DIR/<n>.eml. Each line is flushed and fsynced before the relay
answers 250, so whoever reads the file after a message was accepted finds it there.

usage: smtp_sink.py --listen 127.0.0.1:PORT --out OUT_DIR
Stops on SIGTERM or SIGINT. Prints "smtp-sink listening on HOST:PORT" once it accepts.
"""
import argparse
import email
import email.policy
import json
import os
import signal
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain",)) if msg.is_multipart() else msg
        body = part.get_content() if part is not None else ""
        record = {"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                  "subject": str(msg.get("subject", "")), "body": body}
        with self.lock:
            self.count += 1
            with open(os.path.join(self.out_dir, "%06d.eml" % self.count), "wb") as f:
                f.write(raw)
            with open(os.path.join(self.out_dir, "mail.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
        return "250 Message accepted for delivery"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", required=True, help="HOST:PORT")
    p.add_argument("--out", required=True, help="directory for mail.jsonl and the .eml files")
    a = p.parse_args()
    host, _, port = a.listen.rpartition(":")
    os.makedirs(a.out, exist_ok=True)
    controller = Controller(Sink(a.out), hostname=host, port=int(port))
    controller.start()
    print("smtp-sink listening on %s:%s" % (host, port), flush=True)
    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
