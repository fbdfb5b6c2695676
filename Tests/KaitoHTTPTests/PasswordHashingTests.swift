import Foundation
import HTTPTypes
import HummingbirdTesting
import KaitoCore
import KaitoHTTP
import KaitoTestSupport
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// bcrypt runs on its own bounded pool, and every sign-in path costs exactly one bcrypt.
@Suite("Password hashing: off the request threads, bounded, the same work on every sign-in path")
struct PasswordHashingTests {
    /// A hasher that counts its calls (bcrypt at the lowest cost underneath).
    final class CountingHasher: PasswordHasher {
        let inner = Bcrypter(cost: 4)
        let calls = NIOLockedValueBox((hashes: 0, verifies: 0))
        var cost: UInt8 { inner.cost }

        func hash(_ password: String) async throws -> String {
            calls.withLockedValue { $0.hashes += 1 }
            return inner.hashNow(password)
        }

        func verify(_ password: String, hash: String) async throws -> Bool {
            calls.withLockedValue { $0.verifies += 1 }
            return inner.verifyNow(password, hash: hash)
        }
    }

    enum SignInPath: String, CaseIterable, Sendable {
        case unknownOrganization, unknownEmail, lockedAccount, lockedAccountRightPassword, wrongPassword, rightPassword
    }

    static let password = "correct horse battery staple"

    @Test("Every sign-in path does exactly one bcrypt verify, and no hash", arguments: SignInPath.allCases)
    func oneVerifyPerPath(path: SignInPath) async throws {
        try await withTestRuntime { test in
            _ = try await test.runtime.users.add(email: "ann@example.com", name: nil, role: "admin", by: try await test.runtime.asOperator(in: "default"))
            _ = try await test.runtime.signIn.setPassword(in: test.organization, email: "ann@example.com", password: Self.password)
            let hasher = CountingHasher()
            let runtime = Runtime(storage: test.runtime.storage, keyring: test.runtime.keyring, clock: test.clock, passwordHasher: hasher)
            func attempt(organization: String = "default", email: String = "ann@example.com", password: String) async throws {
                _ = try await runtime.signIn.signIn(organization: organization, email: email, password: password, address: "192.0.2.1", origin: RequestOrigin())
            }
            if path == .lockedAccount || path == .lockedAccountRightPassword {
                for _ in 0..<SignInService.attemptLimit { await #expect(throws: KaitoError.self) { try await attempt(password: "wrong password!") } }
            }
            hasher.calls.withLockedValue { $0 = (0, 0) }
            switch path {
            case .unknownOrganization: await #expect(throws: KaitoError.self) { try await attempt(organization: "nowhere", password: Self.password) }
            case .unknownEmail: await #expect(throws: KaitoError.self) { try await attempt(email: "bob@example.com", password: Self.password) }
            case .lockedAccount, .wrongPassword: await #expect(throws: KaitoError.self) { try await attempt(password: "wrong password!") }
            case .lockedAccountRightPassword: await #expect(throws: KaitoError.self) { try await attempt(password: Self.password) }
            case .rightPassword: try await attempt(password: Self.password)
            }
            let calls = hasher.calls.withLockedValue { $0 }
            #expect(calls.verifies == 1 && calls.hashes == 0, "\(path): \(calls)")
        }
    }

    @Test("The dummy hash is a real bcrypt hash (so checking it does the work) at the hasher's cost")
    func dummyHash() throws {
        // At cost 5 it is OpenBSD's vector: the library reads it as a hash, salt and digest, rather than refusing it.
        #expect(Bcrypter(cost: 5).verifyNow("U*U", hash: Bcrypter(cost: 5).dummyHash))
        for cost: UInt8 in [4, 10, 12] {
            let hasher = Bcrypter(cost: cost)
            #expect(hasher.dummyHash.hasPrefix(String(format: "$2b$%02d$", cost)) && hasher.dummyHash.count == hasher.hashNow("x").count)
            #expect(!hasher.verifyNow("U*U", hash: hasher.dummyHash))
        }
    }

    /// Records the threads a hasher's work runs on, and how many run at once.
    final class Observer: Sendable {
        let state = NIOLockedValueBox((threads: Set<String>(), running: 0, most: 0, calls: 0))

        func observe<T>(_ work: () -> T) -> T {
            let name = Thread.current.name ?? "unnamed \(pthread_self())"
            state.withLockedValue { $0.threads.insert(name); $0.running += 1; $0.most = max($0.most, $0.running); $0.calls += 1 }
            defer { state.withLockedValue { $0.running -= 1 } }
            return work()
        }

        /// Set to let the checks of `blockingHasher` finish.
        let release = NIOLockedValueBox(false)

        /// A hasher whose checks hold their thread until `release` is set.
        func blockingHasher(maximumWaiting: Int) -> PooledPasswordHasher {
            hasher(cost: 4, maximumWaiting: maximumWaiting, verify: { _, _ in
                while !self.release.withLockedValue({ $0 }) { usleep(1000) }
                return false
            })
        }

        func hasher(cost: UInt8, maximumWaiting: Int = 16, verify: (@Sendable (String, String) -> Bool)? = nil) -> PooledPasswordHasher {
            let bcrypt = Bcrypter(cost: cost)
            return PooledPasswordHasher(
                cost: cost, maximumWaiting: maximumWaiting, hash: { password in self.observe { bcrypt.hashNow(password) } },
                verify: { password, hash in self.observe { verify?(password, hash) ?? bcrypt.verifyNow(password, hash: hash) } })
        }
    }

    @Test("16 concurrent sign-ins (bcrypt cost 12) run on the bcrypt pool, two at a time, while /health keeps answering")
    func signInsDoNotStallRequests() async throws {
        let observer = Observer()
        try await withTestRuntime { test in
            let runtime = Runtime(storage: test.runtime.storage, keyring: test.runtime.keyring, clock: test.clock, passwordHasher: observer.hasher(cost: 12))
            try await test.withApp(.live, runtime: runtime, trustedProxies: [CIDR("127.0.0.1/32")!]) { client in
                let port = try #require(client.port)
                let slowest = try await withThrowingTaskGroup(of: Duration?.self) { group in
                    for index in 0..<16 {
                        group.addTask {
                            let status = try await Self.signInAttempt(port: port, address: "198.51.100.\(index + 1)")
                            #expect(status == .unauthorized, "an unknown account: \(status)")
                            return nil
                        }
                    }
                    group.addTask {
                        // Probe while the sign-ins run: each request on its own connection.
                        var slowest = Duration.zero
                        for _ in 0..<10 {
                            let started = ContinuousClock.now
                            let response = try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(60))) {
                                try await $0.execute(.init("/health", method: .get))
                            }
                            #expect(response.status == .ok)
                            slowest = max(slowest, ContinuousClock.now - started)
                            try await Task.sleep(for: .milliseconds(50))
                        }
                        return slowest
                    }
                    var slowest = Duration.zero
                    for try await result in group { if let result { slowest = max(slowest, result) } }
                    return slowest
                }
                // Only a gross stall fails this (with every test of the suite running in parallel on two cores, a /health
                // on a fresh connection has taken up to 5 s here): the proof that bcrypt stays off the request threads is
                // below, the threads every check ran on and how many ran at once.
                #expect(slowest < .seconds(10), "slowest /health: \(slowest)")
            }
        }
        let state = observer.state.withLockedValue { $0 }
        #expect(state.calls == 16)
        #expect(!state.threads.isEmpty && state.threads.allSatisfy { $0.hasPrefix("kaito-bcrypt-#") }, "\(state.threads)")
        #expect(state.most <= PooledPasswordHasher.threads)
    }

    @Test("Beyond the pool's threads and the waiting bound, a check is refused at once with unavailable")
    func bounded() async throws {
        let observer = Observer()
        let hasher = observer.blockingHasher(maximumWaiting: 1)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<(PooledPasswordHasher.threads + 1) { group.addTask { _ = try await hasher.verify("x", hash: "y") } }
            // Both threads busy (the third waits in the pool's queue).
            while observer.state.withLockedValue({ $0.running }) < PooledPasswordHasher.threads { try await Task.sleep(for: .milliseconds(1)) }
            let refused = await #expect(throws: KaitoError.self) { try await hasher.verify("x", hash: "y") }
            #expect(refused?.code == .unavailable)
            observer.release.withLockedValue { $0 = true }
            try await group.waitForAll()
        }
        #expect(try await hasher.verify("x", hash: "y") == false, "admitted again once the others are done")
    }

    @Test("With every check taken and none allowed to wait, the sign-in form answers 503 and asks to try again")
    func busyPage() async throws {
        let observer = Observer()
        let hasher = observer.blockingHasher(maximumWaiting: 0)
        try await withTestRuntime { test in
            let runtime = Runtime(storage: test.runtime.storage, keyring: test.runtime.keyring, clock: test.clock, passwordHasher: hasher)
            try await test.withApp(runtime: runtime) { client in
                let browsers = (0...PooledPasswordHasher.threads).map { _ in DashboardTests.Browser(client) }
                for browser in browsers { _ = try await browser.get("/login") }
                let form = [("organization", "default"), ("email", "nobody@example.com"), ("password", "guess guess guess")]
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for browser in browsers.dropLast() { group.addTask { _ = try await browser.post("/login", form) } }
                    while observer.state.withLockedValue({ $0.running }) < PooledPasswordHasher.threads { try await Task.sleep(for: .milliseconds(1)) }
                    let busy = try await browsers.last!.post("/login", form)
                    #expect(busy.status == .serviceUnavailable && busy.text.contains("try again in a few seconds"), "\(busy.status)")
                    observer.release.withLockedValue { $0 = true }
                    try await group.waitForAll()
                }
            }
        }
    }

    /// One browser's sign-in through the pages (login page for the CSRF cookie and field, then the form) from
    /// `address` (the test server trusts 127.0.0.1 as a proxy); returns the status of the form's answer.
    static func signInAttempt(port: Int, address: String) async throws -> HTTPResponse.Status {
        // Sixteen cost-12 checks two at a time can take minutes on a loaded two-core machine: the client waits.
        try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(300))) { client in
            let forwarded = HTTPField.Name("X-Forwarded-For")!
            let page = try await client.execute(.init("/login", method: .get, headers: [forwarded: address]))
            let cookies = page.headers[values: .setCookie].map { String($0.split(separator: ";")[0]) }.joined(separator: "; ")
            let body = page.body.map { String(buffer: $0) } ?? ""
            let csrf = try #require(body.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
            let form = FormEncoding.encode([("organization", "default"), ("email", "nobody-\(address)@example.com"), ("password", "guess guess guess"), ("csrf", String(csrf))])
            let response = try await client.execute(.init("/login", method: .post, headers: [
                forwarded: address, .cookie: cookies, .contentType: "application/x-www-form-urlencoded",
            ], body: ByteBuffer(string: form)))
            return response.status
        }
    }
}
