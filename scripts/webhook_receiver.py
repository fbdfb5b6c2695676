#!/usr/bin/env python3
"""A webhook receiver for Kaito's tests: checks every delivery with the `standardwebhooks` package.

    webhook_receiver.py --secret whsec_... [--secret whsec_...] [--statuses 500,500,200] [--port 0]

Prints `listening <port>` and then one JSON line per delivery: the webhook-id, the status it answered, and for each
secret whether one of the delivery's signatures is valid under it (checked with standardwebhooks' own signing, and
with its full `verify`, timestamp tolerance included).
"""
import argparse, json, sys
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

parser = argparse.ArgumentParser()
parser.add_argument("--secret", action="append", default=[])
parser.add_argument("--statuses", default="200")
parser.add_argument("--port", type=int, default=0)
args = parser.parse_args()
statuses = [int(s) for s in args.statuses.split(",")]
count = 0


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
        status = statuses[min(count, len(statuses) - 1)]
        count += 1
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "120")
        self.send_header("content-length", "0")
        self.end_headers()
        print(json.dumps({"id": msg_id, "timestamp": int(timestamp), "status": status, "signed": signed,
                          "verified": verified, "signatures": len(given), "body": json.loads(body)}), flush=True)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
