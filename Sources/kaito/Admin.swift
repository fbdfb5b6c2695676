import ArgumentParser
import Foundation
import KaitoCore
import KaitoHTTP
import Logging

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Operator commands that work on the database directly (also while servers are running).",
        subcommands: [
            CreateOrg.self, RenameOrg.self, CreateKey.self, SetPlan.self, Users.self, AddUser.self, RemoveUser.self, SetPassword.self, GrantTokens.self,
            BackupCommand.self, RestoreCommand.self, RotateMasterKey.self, RotateDataKey.self, RotateBootstrapKey.self,
        ]
    )

    struct SetPlan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-plan",
            abstract: "Change an organisation's plan (free, business, enterprise); gating follows at once.", discussion: "Example: kaito admin set-plan acme business"
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
                let organization = try await runtime.billing.changePlan(to: plan, by: try await runtime.asOperator(in: org))
                print("\(organization.name): \(organization.plan.rawValue)")
            }
        }
    }

    struct CreateOrg: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-org",
            abstract: "Create an organisation and print its first org:admin key.", discussion: "Example: kaito admin create-org acme --data-dir /var/lib/kaito"
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
            abstract: "Create a key in an organisation and print it.", discussion: "Example: kaito admin create-key --org acme --name ci --scopes tokens:code"
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
extension Admin {
    struct RenameOrg: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rename-org", abstract: "Rename an organisation (as PATCH /v1/org).", discussion: "Example: kaito admin rename-org acme acme-eu")

        @Argument(help: "The organisation's name or id.")
        var org: String

        @Argument(help: "The new name: [a-z0-9][a-z0-9-]{0,62}.")
        var name: String

        @OptionGroup var options: ServerOptions

        func run() async throws {
            try await withRuntime(options) { runtime in
                // The name is checked before the organisation is looked up.
                try Organization.validateName(name)
                print(try await runtime.organizations.rename(to: name, by: try await runtime.asOperator(in: org)).name)
            }
        }
    }

    struct Users: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "users", abstract: "List an organisation's users: id, role, email.", discussion: "Example: kaito admin users acme")

        @Argument(help: "The organisation's name or id.")
        var org: String

        @OptionGroup var options: ServerOptions

        func run() async throws {
            try await withRuntime(options) { runtime in
                for user in try await runtime.users.list(by: try await runtime.asOperator(in: org), after: nil, limit: 10_000).items {
                    print("\(user.id)\t\(user.role.rawValue)\t\(user.email)")
                }
            }
        }
    }

    struct AddUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-user", abstract: "Add a user to an organisation (as POST /v1/org/users; operators may add owners) and print its id.", discussion: "Example: kaito admin add-user acme kim@example.com --role admin --name Kim")

        @Argument(help: "The organisation's name or id.")
        var org: String

        @Argument(help: "The user's email address.")
        var email: String

        @Option(help: "owner, admin or member.")
        var role: String = "member"

        @Option(help: "The user's name.")
        var name: String?

        @OptionGroup var options: ServerOptions

        func run() async throws {
            try await withRuntime(options) { runtime in
                print(try await runtime.users.add(email: email, name: name, role: role, by: try await runtime.asOperator(in: org)).id)
            }
        }
    }

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Set a user's dashboard password, read from stdin (12 to 72 bytes); ends the user's sessions.",
            discussion: """
                The user signs in at the dashboard (/login) with the organisation's name, their email and this password,
                and enrols a TOTP second factor at the first sign-in. Example:
                  printf '%s' "$PASSWORD" | kaito admin set-password default alice@example.com
                """)

        @Argument(help: "The organisation's name or id.")
        var org: String

        @Argument(help: "The user's email address.")
        var email: String

        @Flag(name: .customLong("reset-second-factor"), help: "Make the user enrol a new second factor at the next sign-in (a lost phone).")
        var resetSecondFactor = false

        @OptionGroup var options: ServerOptions

        func run() async throws {
            var password = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            // A trailing line break (from echo or a file) is not part of the password.
            while password.last?.isNewline == true { password.removeLast() }
            try await withRuntime(options) { runtime in
                let organization = try await runtime.organizations.find(org)
                let user = try await runtime.signIn.setPassword(in: organization, email: email, password: password, resetSecondFactor: resetSecondFactor)
                print("password set for \(user.email) (\(user.id))" + (resetSecondFactor ? "; second factor reset" : ""))
            }
        }
    }

    struct GrantTokens: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grant-tokens",
            abstract: "Replace the tokens a member sees in the dashboard (as PUT /v1/org/users/{id}/token-grants); no slugs: none.", discussion: "Example: kaito admin grant-tokens acme kim@example.com aws-prod github-bot")

        @Argument(help: "The organisation's name or id.")
        var org: String

        @Argument(help: "The member's id (usr_...).")
        var user: String

        @Argument(help: "Token slugs.")
        var slugs: [String] = []

        @OptionGroup var options: ServerOptions

        func run() async throws {
            try await withRuntime(options) { runtime in
                let granted = try await runtime.users.setGrants(userID: user, slugs: slugs, by: try await runtime.asOperator(in: org))
                print(granted.isEmpty ? "\(user) is granted no tokens" : "\(user) is granted: \(granted.joined(separator: " "))")
            }
        }
    }

    struct RotateBootstrapKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-bootstrap-key",
            abstract: "Revoke the key of bootstrap-admin.key, delete the file, and print a new org:admin key (--revoke-only: none).",
            discussion: """
                The first start writes an org:admin key issued to nobody (owner powers) to <data-dir>/bootstrap-admin.key.
                Once your owners have keys of their own, retire it; or rotate it into your secret store. Examples:
                  ADMIN=$(kaito admin rotate-bootstrap-key default)
                  kaito admin rotate-bootstrap-key default --revoke-only
                """)

        @Argument(help: "The organisation's name or id.")
        var org: String = "default"

        @Flag(name: .customLong("revoke-only"), help: "Revoke without creating a replacement.")
        var revokeOnly = false

        @OptionGroup var options: ServerOptions

        func run() async throws {
            let configuration = try options.configuration()
            try await withRuntime(options) { runtime in
                let (revoked, replacement) = try await runtime.organizations.retireBootstrapKey(org, replace: !revokeOnly)
                try? FileManager.default.removeItem(atPath: configuration.bootstrapKeyPath)
                FileHandle.standardError.write(Data("revoked \(revoked.count) bootstrap key(s)\(revoked.isEmpty ? "" : ": " + revoked.joined(separator: " ")); removed \(configuration.bootstrapKeyPath)\n".utf8))
                if let replacement { print(replacement.value) }
            }
        }
    }

    struct RemoveUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove-user", abstract: "Remove a user and revoke the keys issued to them (never the last owner).", discussion: "Example: kaito admin remove-user acme kim@example.com")

        @Argument(help: "The organisation's name or id.")
        var org: String

        @Argument(help: "The user's id (usr_...).")
        var user: String

        @OptionGroup var options: ServerOptions

        func run() async throws {
            try await withRuntime(options) { runtime in
                let revoked = try await runtime.users.remove(id: user, by: try await runtime.asOperator(in: org))
                print("removed \(user); revoked \(revoked.count) key(s)")
            }
        }
    }
}

func withRuntime(_ options: ServerOptions, _ body: (Runtime) async throws -> Void) async throws {
    let runtime = try await Runtime.open(try options.configuration(), logger: LogSetup.quietLogger())
    do {
        try await body(runtime)
        try await runtime.storage.close()
    } catch let error as KaitoError {
        try? await runtime.storage.close()
        let exitCode: Int32 = error.code == .notFound ? 4 : (error.code == .validationFailed ? 2 : 1)  // conflict (the last owner, a taken name): 1
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
