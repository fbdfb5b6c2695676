#!/usr/bin/env python3
"""A webhook receiver for Kaito's tests: checks every delivery with the `standardwebhooks` package.

    webhook_receiver.py --log FILE --secret whsec_... [--secret whsec_...] [--statuses 500,500,200]
                        [--retry-after 120] [--port 0]

Writes `{"listening": <port>}` and then one JSON line per delivery to FILE (a file, so that a test can poll it
without blocking on a pipe): the webhook-id, the status it answered, and for each secret whether one of the
delivery's signatures is valid under it (checked with standardwebhooks' own signing, and with its full `verify`,
timestamp tolerance included). The n-th delivery is answered with the n-th of --statuses (the last one repeats).
"""
import argparse, json, threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

parser = argparse.ArgumentParser()
parser.add_argument("--secret", action="append", default=[])
parser.add_argument("--statuses", default="200")
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--retry-after", default="120")
parser.add_argument("--log", required=True)
args = parser.parse_args()
statuses = [int(s) for s in args.statuses.split(",")]
count = 0
lock = threading.Lock()


def log(record):
    with lock, open(args.log, "a") as file:
        file.write(json.dumps(record) + "\n")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        msg_id, timestamp = headers.get("webhook-id"), headers.get("webhook-timestamp")
        given = headers.get("webhook-signature", "").split(" ")
        signed, verified = [], []
        for secret in args.secret:
            hook = Webhook(secret)
            expected = hook.sign(msg_id, datetime.fromtimestamp(int(timestamp), tz=timezone.utc), body.decode())
            signed.append(expected in given)
            try:
                hook.verify(body, headers)
                verified.append(True)
            except Exception:
                verified.append(False)
        with lock:
            status = statuses[min(count, len(statuses) - 1)]
            count += 1
        payload = json.loads(body)
        log({"id": msg_id, "timestamp": int(timestamp), "status": status, "signed": signed, "verified": verified,
             "signatures": len(given), "type": payload.get("type"), "data": json.dumps(payload.get("data")),
             "user_agent": headers.get("user-agent")})
        self.send_response(status)
        if status in (429, 503):
            self.send_header("Retry-After", args.retry_after)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
log({"listening": server.server_address[1]})
server.serve_forever()
