import ArgumentParser
import Foundation
import KaitoAPIModels
import KaitoClient

@main
struct Kaito: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kaito",
        abstract: "Kaito: shared two-factor secrets (TOTP codes, SMS) for CI jobs, bots and incident tooling.",
        discussion: """
            Server: `kaito serve` starts the API; `kaito admin ...` are operator commands on the database.
            Client: `kaito code <slug>` and friends call a running server, reading KAITO_URL and KAITO_KEY.

            Exit codes: 0 ok, 1 other error, 2 usage error, 3 authentication or permission denied,
            4 not found, 5 rate limited.
            """,
        version: KaitoVersion.current,
        subcommands: [
            Serve.self, Migrate.self, Admin.self, Audit.self, Code.self, Tokens.self, Keys.self, Inboxes.self, SMS.self, Webhook.self, API.self,
            Completion.self,
        ]
    )

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as KaitoClientError {
            FileHandle.standardError.write(Data("kaito: \(error.description)\n".utf8))
            Foundation.exit(error.exitCode)
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("kaito: \(error.message)\n".utf8))
            Foundation.exit(error.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// A failure of a command with its exit code.
struct CLIError: Error {
    var message: String
    var exitCode: Int32 = 1
}
