#!/usr/bin/env python3
"""Kaito benchmark: one run, one table.

Builds kaito in release mode, starts it on a temporary database (SQLite, or PostgreSQL with --database-url),
creates a token and keys with raised limits (an Enterprise organisation), drives load with wrk on loopback, and
prints requests per second, p50/p99 latency and the ratio to the same server's /health for each endpoint, with the
server's peak resident memory.

    bench/run.py                                   # SQLite
    bench/run.py --database-url postgres://...     # PostgreSQL (an empty database)
    bench/run.py --database-url postgres://... --servers 2   # and two servers on that database, driven at once
    bench/run.py --duration 10 --connections 32 --no-build
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRATCH = os.path.join(ROOT, ".build-release")


def request(url, method="GET", key=None, body=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    if key:
        req.add_header("Authorization", "Bearer " + key)
    with urllib.request.urlopen(req) as response:
        return json.loads(response.read() or b"null")


class Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        Sink.received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def wrk_command(url, key, seconds, connections, script=None, threads=2):
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if key:
        command[1:1] = ["-H", "Authorization: Bearer " + key]
    if script:
        command[1:1] = ["-s", script]
    return command


def wrk(url, key, seconds, connections, script=None):
    out = subprocess.run(wrk_command(url, key, seconds, connections, script), capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def wrk_together(urls, key, seconds, connections, script=None):
    """One wrk per server, all at once, the connections (and wrk's two threads) split between them: the total load of
    one `wrk` run. Returns the summed rate, the largest p50 and p99, and the summed errors."""
    share = connections // len(urls)
    runs = [subprocess.Popen(wrk_command(url, key, seconds, share, script, threads=max(1, 2 // len(urls))),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for url in urls]
    results = [parse_wrk(run.communicate()[0]) for run in runs]
    return (sum(r[0] for r in results), max(r[1] for r in results), max(r[2] for r in results), sum(r[3] for r in results))


def parse_wrk(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(p):
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, latency(50), latency(99), int(non2xx.group(1)) if non2xx else 0


def start_server(serve, env, log_path):
    """Starts `kaito serve`; returns the process, its port and the seconds it took to listen."""
    # The server's log goes to a file: a pipe that nobody drains during the load would fill and stop the server.
    log = open(log_path, "w")
    server = subprocess.Popen(serve, env=env, stderr=log, stdout=subprocess.DEVNULL)
    port = None
    started = time.time()
    while port is None and time.time() - started < 60 and server.poll() is None:
        match = re.search(r"address=\S*:(\d+)\b.*kaito is listening", open(log_path).read())
        if match:
            port = int(match.group(1))
        else:
            time.sleep(0.01)
    if port is None:
        sys.exit("the server did not start:\n" + open(log_path).read())
    print(f"server on port {port}", file=sys.stderr, flush=True)
    return server, port, time.time() - started


def metrics(base):
    """The server's Prometheus counters and sums, by their full name with labels."""
    values = {}
    for line in urllib.request.urlopen(base + "/metrics").read().decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
    return values


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--servers", type=int, default=1, choices=[1, 2],
                        help="2: also start a second server on the same PostgreSQL database and drive both at once")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if args.servers > 1 and not args.database_url:
        sys.exit("--servers 2 needs --database-url: SQLite is served by one server")
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "kaito", "--scratch-path", SCRATCH], cwd=ROOT, check=True)
    kaito = os.path.join(SCRATCH, "release", "kaito")

    data = tempfile.mkdtemp(prefix="kaito-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAITO_")}
    env["KAITO_LOG_LEVEL"] = "warning"
    serve = [kaito, "serve", "--port", "0", "--data-dir", data] + (["--database-url", args.database_url] if args.database_url else [])
    env_notice = dict(env, KAITO_LOG_LEVEL="notice", KAITO_WEBHOOK_ALLOW_PRIVATE="127.0.0.1/32")
    log_path = os.path.join(data, "server.log")
    server, port, ready = start_server(serve, env_notice, log_path)
    second = None
    try:
        base = f"http://127.0.0.1:{port}"
        admin = open(os.path.join(data, "bootstrap-admin.key")).read().strip()
        admin_args = ["--data-dir", data] + (["--database-url", args.database_url] if args.database_url else [])
        subprocess.run([kaito, "admin", "set-plan", "default", "enterprise"] + admin_args, env=env, check=True, capture_output=True)
        # The highest per-key limit is 100,000 a minute (about 1,700 a second): the load rotates over 64 keys, so
        # that what is measured is the work of a request, never a 429.
        limits = {"code": 100000, "read": 100000, "write": 100000}
        scopes = ["tokens:code", "tokens:read", "tokens:write"]
        minter = request(base + "/v1/keys", "POST", admin, {"name": "minter", "scopes": ["org:admin"], "rate_limits": limits})["key"]
        keys = [request(base + "/v1/keys", "POST", minter, {"name": f"bench-{i}", "scopes": scopes, "rate_limits": limits})["key"]
                for i in range(64)]
        key = keys[0]
        request(base + "/v1/tokens", "POST", key, {"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"})

        # A receiver on loopback for the webhook that every audited write produces.
        sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=sink.serve_forever, daemon=True).start()
        request(base + "/v1/webhooks", "POST", admin, {"url": f"http://127.0.0.1:{sink.server_address[1]}/hook",
                                                       "topics": ["audit.event"], "audit_actions": ["token.update"]})

        def script(name, method="GET", body=None, delay_ms=None):
            path = os.path.join(data, name + ".lua")
            with open(path, "w") as lua:
                lua.write("local keys = {" + ", ".join(f'"Bearer {k}"' for k in keys) + "}\nlocal n = 0\n")
                lua.write(f'wrk.method = "{method}"\n')
                if body:
                    lua.write(f"wrk.body = '{body}'\n")
                lua.write("function request()\n  n = n % #keys + 1\n  wrk.headers[\"Authorization\"] = keys[n]\n"
                          "  return wrk.format()\nend\n")
                if delay_ms is not None:
                    # wrk waits whole milliseconds: a fractional pause is the mean of a random choice between the
                    # two whole ones around it.
                    whole, fraction = int(delay_ms), delay_ms - int(delay_ms)
                    lua.write(f"function delay()\n  if math.random() < {fraction:.4f} then return {whole + 1} end\n"
                              f"  return {whole}\nend\n")
            return path

        code_url = base + "/v1/tokens/aws-prod/code"
        rows = [("GET /health", wrk(base + "/health", None, args.duration, args.connections))]
        health = rows[0][1][0]
        rows.append(("GET /v1/tokens/{slug}/code", wrk(code_url, None, args.duration, args.connections, script("code"))))
        # The latency goal is at half of /health's rate. Each connection pauses between a response and its next
        # request (wrk's delay()), so its cycle is the pause plus the response time: the pause is calibrated in short
        # runs until the offered rate is half of /health (a server that cannot keep up ends with no pause: saturated).
        target = health / 2
        pause = 1000.0 * args.connections / target
        for _ in range(4):
            rate = wrk(code_url, None, 3, args.connections, script("paced", delay_ms=pause))[0]
            if abs(rate - target) <= 0.02 * target or (pause == 0 and rate < target):
                break
            pause = max(0.0, pause + 1000.0 * args.connections / target - 1000.0 * args.connections / rate)
        rows.append(("GET /v1/tokens/{slug}/code at 1/2 of /health",
                     wrk(code_url, None, args.duration, args.connections, script("paced", delay_ms=pause))))
        rows.append(("GET /v1/tokens", wrk(base + "/v1/tokens", None, args.duration, args.connections, script("list"))))
        if args.servers == 2:
            # A second server on the same database; the same total load, first on one server, then split over both.
            second, second_port, _ = start_server(serve, env_notice, os.path.join(data, "second.log"))
            code_urls = [f"http://127.0.0.1:{p}/v1/tokens/aws-prod/code" for p in (port, second_port)]
            rows.append(("code fetch, one server (same run)", wrk(code_urls[0], None, args.duration, args.connections, script("code"))))
            before = [metrics(f"http://127.0.0.1:{p}") for p in (port, second_port)]
            rows.append(("code fetch, two servers at once", wrk_together(code_urls, None, args.duration, args.connections, script("code"))))
            after = [metrics(f"http://127.0.0.1:{p}") for p in (port, second_port)]
            delta = {name: sum(a.get(name, 0) - b.get(name, 0) for a, b in zip(after, before)) for name in after[0]}
            request_seconds = sum(v for n, v in delta.items()
                                  if n.startswith("kaito_http_request_duration_seconds_sum{") and 'route="/v1/tokens/{slug}/code"' in n)
            lock_wait = delta.get("kaito_storage_audit_contention_seconds_total", 0)
            two_servers = (lock_wait, request_seconds, delta.get("kaito_storage_audit_batches_total", 0),
                           delta.get("kaito_storage_audit_batch_events_total", 0))
        # Last: every PATCH queues a webhook delivery, and the backlog keeps the dispatcher busy after the phase.
        rows.append(("PATCH /v1/tokens/{slug} (write + webhook)",
                     wrk(base + "/v1/tokens/aws-prod", None, args.duration, args.connections, script("patch", "PATCH", '{"name": "renamed"}'))))
        backend = "PostgreSQL" if args.database_url else "SQLite"
        print(f"\nkaito on {backend}, wrk -t2 -c{args.connections} -d{args.duration}s on loopback, {os.cpu_count()} cores; "
              f"start-up to listening {ready:.2f} s")
        print(f"{'endpoint':42} {'req/s':>9} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
        for name, (rps, p50, p99, errors) in rows:
            print(f"{name:42} {rps:9.0f} {rps / health:6.2f} {p50:8.2f} {p99:8.2f} {errors:8d}")
        print(f"peak resident memory: {peak_rss_mb(server.pid):.0f} MB; webhook deliveries received: {Sink.received}")
        if second:
            one = next(r for n, r in rows if n == "code fetch, one server (same run)")
            two = next(r for n, r in rows if n == "code fetch, two servers at once")
            lock_wait, request_seconds, batches, events = two_servers
            print(f"two servers / one server: {two[0] / one[0]:.2f}x the rate, p99 {two[2] / one[2]:.2f}x; "
                  f"second server's peak memory {peak_rss_mb(second.pid):.0f} MB")
            print(f"two servers: chain-head contention (lock waits and appends redone) {lock_wait:.2f} s of {request_seconds:.2f} s of code-fetch request time "
                  f"({100 * lock_wait / max(request_seconds, 1e-9):.1f} %); {events:.0f} events in {batches:.0f} batches")
            second.terminate()
            second.wait(timeout=30)
        # Start-up on the database the run just filled.
        server.terminate()
        server.wait(timeout=30)
        log = open(log_path, "w")
        started = time.time()
        again = list(serve)
        again[3] = str(port)
        server = subprocess.Popen(again, env=env_notice, stderr=log, stdout=subprocess.DEVNULL)
        while time.time() - started < 60 and server.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1).read()
                break
            except Exception:
                time.sleep(0.005)
        print(f"start-up to ready on the existing database: {time.time() - started:.2f} s")
    finally:
        if second and second.poll() is None:
            second.terminate()
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
