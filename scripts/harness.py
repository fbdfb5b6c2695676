"""What the scripts that drive a live `kaito serve` share: a free port, starting and stopping the server on a fresh
data directory, and JSON calls with a key."""
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, key, body=None):
    """One API request; the decoded JSON answer (None when empty). Raises urllib.error.HTTPError for 4xx/5xx."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + key)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


@contextlib.contextmanager
def kaito_serve(binary, prefix, environment=None):
    """`kaito serve` on a fresh data directory and a free port, ready; yields (base URL, data directory, environment)
    and stops the server afterwards. KAITO_* variables of the caller's environment are not passed on."""
    data_dir = tempfile.mkdtemp(prefix=prefix)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAITO_")}
    env.update({k: v.replace("{base}", base) for k, v in (environment or {}).items()})
    log = open(os.path.join(data_dir, "server.log"), "w")
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--data-dir", data_dir], env=env, stdout=log, stderr=log)
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/ready", timeout=1).read()
                break
            except Exception:
                if time.time() > deadline or server.poll() is not None:
                    sys.exit("kaito serve did not become ready; see " + log.name)
                time.sleep(0.1)
        yield base, data_dir, env
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
