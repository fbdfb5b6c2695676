#!/usr/bin/env python3
"""A stand-in for Twilio's Messages API, for Kaito's tests: Twilio's servers cannot be reached from here, so this
speaks their wire format (the 2010-04-01 REST API) on loopback.

    fake_twilio.py --log FILE --account-sid AC... --auth-token TOKEN [--port 0]

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP basic auth (Account SID, Auth Token) and a
form-encoded `To`, `From`, `Body`, optional `StatusCallback`, answered as Twilio answers: 201 with the message
resource (`sid` SM + 32 hex, `status` "queued"), 401 with error 20003 for wrong credentials, 400 with error 21211
for Twilio's magic invalid number +15005550001 and 21604 without `To`, and 500 for +15005550500 (a fault that may
pass). Writes `{"listening": port}` and then one JSON line per request to FILE.
"""
import argparse, base64, json, secrets, threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True)
parser.add_argument("--account-sid", required=True)
parser.add_argument("--auth-token", required=True)
parser.add_argument("--port", type=int, default=0)
args = parser.parse_args()
lock = threading.Lock()


def log(record):
    with lock, open(args.log, "a") as file:
        file.write(json.dumps(record) + "\n")


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
        form = dict(parse_qsl(body, keep_blank_values=True))
        expected_path = f"/2010-04-01/Accounts/{args.account_sid}/Messages.json"
        auth = self.headers.get("authorization", "")
        good_auth = auth == "Basic " + base64.b64encode(f"{args.account_sid}:{args.auth_token}".encode()).decode()
        record = {"path": self.path, "form": form, "authorized": good_auth, "content_type": self.headers.get("content-type")}
        if self.path != expected_path or not good_auth:
            record["status"] = 401
            log(record)
            return self.answer(401, {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})
        to = form.get("To")
        if not to:
            record["status"] = 400
            log(record)
            return self.answer(400, {"code": 21604, "message": "A 'To' phone number is required.", "status": 400})
        if to == "+15005550001":
            record["status"] = 400
            log(record)
            return self.answer(400, {"code": 21211, "message": f"The 'To' number {to} is not a valid phone number.", "status": 400})
        if to == "+15005550500":
            record["status"] = 500
            log(record)
            return self.answer(500, {"code": 20500, "message": "An internal server error has occurred", "status": 500})
        sid = "SM" + secrets.token_hex(16)
        now = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")
        record.update({"status": 201, "sid": sid})
        log(record)
        self.answer(201, {
            "account_sid": args.account_sid, "api_version": "2010-04-01", "body": form.get("Body", ""), "date_created": now,
            "date_sent": None, "date_updated": now, "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": form.get("From"), "messaging_service_sid": None, "num_media": "0", "num_segments": "1", "price": None,
            "price_unit": "USD", "sid": sid, "status": "queued", "subresource_uris": {"media": f"/2010-04-01/Accounts/{args.account_sid}/Messages/{sid}/Media.json"},
            "to": to, "uri": f"/2010-04-01/Accounts/{args.account_sid}/Messages/{sid}.json",
        })

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
log({"listening": server.server_address[1]})
server.serve_forever()
