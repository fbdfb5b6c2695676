import ArgumentParser
import Foundation
import KaitoCore
import KaitoHTTP
import Logging

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Operator commands that work on the database directly (also while servers are running).",
        subcommands: [CreateOrg.self, CreateKey.self, SetPlan.self]
    )

    struct SetPlan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-plan",
            abstract: "Change an organisation's plan (free, business, enterprise); gating follows at once."
        )

        @Argument(help: "The organisation's name or id.")
        var org: String

        @Argument(help: "free, business or enterprise.")
        var plan: String

        @OptionGroup var options: ServerOptions

        func run() async throws {
            guard let plan = Plan(rawValue: plan) else {
                throw CLIError(message: "the plan must be free, business or enterprise", exitCode: 2)
            }
            try await withRuntime(options) { runtime in
                let organization = try await runtime.organizations.setPlan(org, plan: plan)
                print("\(organization.name): \(organization.plan.rawValue)")
            }
        }
    }

    struct CreateOrg: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-org",
            abstract: "Create an organisation and print its first org:admin key."
        )

        @Argument(help: "The organisation's name: [a-z0-9][a-z0-9-]{0,62}.")
        var name: String

        @OptionGroup var options: ServerOptions

        func run() async throws {
            try await withRuntime(options) { runtime in
                let (_, secret) = try await runtime.organizations.create(name: name, createdBy: "operator")
                print(secret.value)
            }
        }
    }

    struct CreateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-key",
            abstract: "Create a key in an organisation and print it."
        )

        @Option(help: "The organisation's name or id.")
        var org: String

        @Option(help: "A name for the key.")
        var name: String

        @Option(help: "Scopes, comma-separated (tokens:read, tokens:code, tokens:write, tokens:seed, sms:read, sms:send, audit:read, org:admin).")
        var scopes: String

        @OptionGroup var options: ServerOptions

        func run() async throws {
            try await withRuntime(options) { runtime in
                let organization = try await runtime.organizations.find(org)
                let draft = try KeyDraft.validated(
                    name: name, scopes: scopes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
                    now: runtime.clock.now())
                let (_, secret) = try await runtime.organizations.createKeyAsOperator(draft, in: organization)
                print(secret.value)
            }
        }
    }
}

/// Opens the database for one operator command and closes it afterwards; domain errors become exit codes.
func withRuntime(_ options: ServerOptions, _ body: (Runtime) async throws -> Void) async throws {
    let runtime = try await Runtime.open(try options.configuration(), logger: LogSetup.quietLogger())
    do {
        try await body(runtime)
        try await runtime.storage.close()
    } catch let error as KaitoError {
        try? await runtime.storage.close()
        let exitCode: Int32 = error.code == .notFound ? 4 : (error.code == .validationFailed ? 2 : 1)
        throw CLIError(message: error.detail, exitCode: exitCode)
    }
}

extension LogSetup {
    static func quietLogger() -> Logger {
        var logger = Logger(label: "kaito")
        logger.logLevel = .warning
        return logger
    }
}
