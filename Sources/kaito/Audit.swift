import ArgumentParser
import Foundation
import KaitoCore
import KaitoHTTP

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit log commands for operators.",
        subcommands: [Verify.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every organisation's audit hash chain (or one with --org); exit 1 at the first broken link."
        )

        @Option(help: "Only this organisation (name or id).")
        var org: String?

        @OptionGroup var options: ServerOptions

        func run() async throws {
            var broken = false
            try await withRuntime(options) { runtime in
                var ids: [String]?
                if let org { ids = [try await runtime.organizations.find(org).id] }
                for (organizationID, result) in try await runtime.audit.verify(organizationIDs: ids) {
                    switch result {
                    case .intact(let events):
                        print("\(organizationID): ok, \(events) events")
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
