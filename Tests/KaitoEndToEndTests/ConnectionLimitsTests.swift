import Foundation
import KaitoTestSupport
import Testing

/// Idle, slow and numerous clients cannot take the server's connections away from everyone else: idle and
/// read timeouts and a connection cap below the process's descriptor limit, on the real executable and real sockets.
@Suite("End to end: connection timeouts and the connection cap", .serialized)
struct ConnectionLimitsTests {
    /// Opens `idle` sockets that send nothing, one that sends a request head a byte at a time and never ends it,
    /// and one that sends a head and then trickles its body; meanwhile asks `/health` on fresh connections.
    /// Prints JSON: how long until the server closed each slow socket, and how long each `/health` took.
    static let probe = """
        import json, socket, sys, threading, time
        port, idle, duration = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
        def connect():
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            return s
        idlers = []
        for _ in range(idle):
            try:
                idlers.append(connect())
            except OSError:
                break
        def trickle(prefix, body, result, key):
            start = time.time()
            s = connect()
            try:
                s.sendall(prefix)
                for byte in body:
                    s.sendall(bytes([byte]))
                    time.sleep(0.2)
                    if time.time() - start > duration:
                        break
                s.settimeout(1)
                closed = False
                while time.time() - start < duration:
                    try:
                        data = s.recv(4096)
                        if data == b"" or b"HTTP/1.1 408" in data:
                            closed = True
                            break
                    except socket.timeout:
                        continue
                    except OSError:
                        closed = True
                        break
                result[key] = round(time.time() - start, 2) if closed else None
            except OSError:
                result[key] = round(time.time() - start, 2)
        result = {}
        head = threading.Thread(target=trickle, args=(b"GET /health HTTP/1.1\\r\\nHost: x\\r\\n", b"X-Slow: " + b"a" * 200, result, "slow_head"))
        body = threading.Thread(target=trickle, args=(b"POST /v1/keys HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 4000\\r\\n\\r\\n", b"{" * 4000, result, "slow_body"))
        head.start(); body.start()
        healths = []
        for _ in range(5):
            start = time.time()
            try:
                s = connect()
                s.sendall(b"GET /health HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
                data = b""
                while b"\\r\\n\\r\\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                healths.append([round(time.time() - start, 2), data.split(b"\\r\\n")[0].decode()])
                s.close()
            except OSError as error:
                healths.append([round(time.time() - start, 2), str(error)])
            time.sleep(0.5)
        head.join(); body.join()
        # The idle sockets: closed by the server by now?
        closed = 0
        for s in idlers:
            s.settimeout(0.1)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except OSError:
                closed += 1
        result.update(idle_opened=len(idlers), idle_closed=closed, health=healths)
        print(json.dumps(result))
        """

    @Test("Under a 128-descriptor limit, 120 idle sockets, a slowloris head and a trickled body: /health keeps answering, and each is closed by its timeout")
    func slowAndIdleClients() async throws {
        let server = try await ServerProcess.start(
            environment: ["KAITO_HTTP_IDLE_TIMEOUT": "2", "KAITO_HTTP_READ_TIMEOUT": "3"], fileLimit: 128)
        defer { server.directory.remove() }
        // The cap (128 - 64 = 64 connections) admits the first 64 idle sockets; the rest wait in the listen backlog, so a
        // newcomer waits at most two idle timeouts (before the fix, the server ran out of descriptors and hung).
        let result = try await run(python, ["-c", Self.probe, String(server.port), "120", "12"])
        #expect(result.status == 0, "\(result.error)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], "\(result.output)")
        let healths = try #require(report["health"] as? [[Any]])
        #expect(healths.count == 5)
        for health in healths {
            #expect((health[1] as? String)?.hasPrefix("HTTP/1.1 200") == true, "\(health)")
            #expect(((health[0] as? Double) ?? 99) < 5, "\(health)")
        }
        let slowHead = try #require(report["slow_head"] as? Double, "a head sent a byte at a time was never cut off")
        #expect(slowHead < 7, "closed after \(slowHead) s (idle timeout 2 s, after up to two in the backlog)")
        let slowBody = try #require(report["slow_body"] as? Double, "a trickled body was never cut off")
        #expect(slowBody < 8, "closed after \(slowBody) s (read timeout 3 s, after up to two idle timeouts in the backlog)")
        #expect((report["idle_closed"] as? Int) == (report["idle_opened"] as? Int), "\(report)")
        #expect(server.stop() == 0)
    }
}

extension ConnectionLimitsTests {
    /// One client (127.0.0.1) opens `count` idle sockets; prints how many the server closed at once, then how long
    /// `/health` took from another client address (127.0.0.2) meanwhile.
    static let perClientProbe = """
        import json, socket, sys, time
        port, count = int(sys.argv[1]), int(sys.argv[2])
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
        time.sleep(0.5)
        closed = 0
        for s in held:
            s.settimeout(0.05)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except OSError:
                closed += 1
        start = time.time()
        s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.2", 0))
        s.sendall(b"GET /health HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
        status = s.recv(64).split(b"\\r\\n")[0].decode()
        print(json.dumps({"closed": closed, "health": [round(time.time() - start, 2), status]}))
        """

    @Test("One client address holds at most KAITO_MAX_CONNECTIONS_PER_CLIENT connections; another client is served meanwhile")
    func perClientCap() async throws {
        let server = try await ServerProcess.start(environment: ["KAITO_MAX_CONNECTIONS_PER_CLIENT": "20"])
        defer { server.directory.remove() }
        let result = try await run(python, ["-c", Self.perClientProbe, String(server.port), "100"])
        #expect(result.status == 0, "\(result.error)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], "\(result.output)")
        #expect(report["closed"] as? Int == 80, "\(report)")
        let health = try #require(report["health"] as? [Any])
        #expect((health[1] as? String)?.hasPrefix("HTTP/1.1 200") == true, "\(health)")
        #expect(((health[0] as? Double) ?? 99) < 1, "\(health)")
        #expect(server.stop() == 0)
    }
}
