#!/usr/bin/env python3
"""An https webhook receiver with a self-signed certificate (made here with openssl), for the test that Kaito checks
receivers' certificates: it writes {"listening": port} to the log, then one JSON line per request that reaches it."""
import argparse
import http.server
import json
import os
import ssl
import subprocess
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True)
arguments = parser.parse_args()

directory = tempfile.mkdtemp()
key, cert = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
subprocess.run(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1",
     "-keyout", key, "-out", cert],
    check=True, capture_output=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        with open(arguments.log, "a") as log:
            log.write(json.dumps({"path": self.path}) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(arguments.log, "a") as log:
    log.write(json.dumps({"listening": server.server_address[1]}) + "\n")
server.serve_forever()
