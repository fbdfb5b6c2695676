import ArgumentParser
import Foundation
import KaitoAPIModels
import KaitoClient
import KaitoCore
import KaitoHTTP

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The audit log: list events through the API, or verify every hash chain on the database (operators).",
        subcommands: [List.self, Verify.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Audit events, newest first (audit:read): time, outcome, action, actor, target, reason; --json for a JSON array.", discussion: "Example: kaito audit list --action token.seed.* --since 2026-11-01T00:00:00Z --limit 50")

        @Option(help: "An action, or a prefix such as token.*")
        var action: String?

        @Option(help: "An actor id (key_..., usr_..., system:...).")
        var actor: String?

        @Option(help: "A target id, such as a token slug.")
        var target: String?

        @Option(help: "success or denied.")
        var outcome: String?

        @Flag(inversion: .prefixedNo, help: "Only flagged (seed) events, or with --no-flagged only the others.")
        var flagged: Bool?

        @Option(help: "RFC 3339: events at or after this time.")
        var since: String?

        @Option(help: "RFC 3339: events before this time.")
        var until: String?

        @Option(help: "The most events to print (1 to 10000).")
        var limit: Int = 50

        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 10000.") }
        }

        func run() async throws {
            var filters: [(String, String)] = []
            for (name, value) in [("action", action), ("actor", actor), ("target", target), ("outcome", outcome), ("since", since), ("until", until)] {
                if let value { filters.append((name, value)) }
            }
            if let flagged { filters.append(("flagged", String(flagged))) }
            let events = try await client.withClient { kaito in
                var events: [AuditEventResponse] = []
                var cursor: String?
                repeat {
                    let page = try await kaito.auditEvents(filters: filters, limit: min(200, limit - events.count), cursor: cursor)
                    events += page.data
                    cursor = page.nextCursor
                } while cursor != nil && events.count < limit
                return events
            }
            if client.json { return try printJSON(events) }
            for event in events {
                let target = event.target.map { "\($0.type):\($0.id)" } ?? "-"
                let flag = event.flagged ? "\tFLAGGED" : ""
                print("\(event.at)\t\(event.outcome)\t\(event.action)\t\(event.actor.id)\t\(target)\t\(event.reason ?? "-")\(flag)")
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every organisation's audit hash chain (or one with --org); exit 1 at the first broken link.", discussion: "Example: kaito audit verify --org acme"
        )

        @Option(help: "Only this organisation (name or id).")
        var org: String?

        @Option(help: ArgumentHelp(
            "An event seen elsewhere, as SEQ:HASH (an audit.event delivery, an export): it must still be in the chain (needs --org).",
            valueName: "seq:hash"))
        var expect: String?

        @OptionGroup var options: ServerOptions

        func validate() throws {
            if let expect {
                guard org != nil else { throw ValidationError("--expect needs --org: an event belongs to one organisation's chain") }
                guard Self.parse(expect) != nil else { throw ValidationError("--expect must be SEQ:HASH, such as 1042:9f86d081...") }
            }
        }

        static func parse(_ text: String) -> AuditHead? {
            let parts = text.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let seq = Int(parts[0]), seq > 0, parts[1].count == 64,
                  parts[1].allSatisfy({ $0.isHexDigit }) else { return nil }
            return AuditHead(seq: seq, hash: parts[1].lowercased())
        }

        func run() async throws {
            var broken = false
            try await withRuntime(options) { runtime in
                var ids: [String]?
                if let org { ids = [try await runtime.organizations.find(org).id] }
                for (organizationID, result) in try await runtime.audit.verify(organizationIDs: ids, expect: expect.flatMap(Self.parse)) {
                    switch result {
                    case .intact(let events):
                        // Shown on every run, so that a boundary that moves (the chain made to look older) stands out.
                        let unkeyed = try await runtime.audit.chainState(organizationID: organizationID).keyedFrom
                        print("\(organizationID): ok, \(events) events" + (unkeyed > 0 ? " (events up to \(unkeyed) predate keyed chains: plain SHA-256)" : ""))
                    case .broken(let seq, let reason):
                        print("\(organizationID): BROKEN at seq \(seq): \(reason)")
                        broken = true
                    }
                }
            }
            if broken { throw CLIError(message: "the audit chain is broken", exitCode: 1) }
        }
    }
}
