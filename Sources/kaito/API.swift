import ArgumentParser
import Foundation
import KaitoClient

/// `kaito api`: any route of the API, as `gh api` does for GitHub's.
struct API: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Call any route of the API with KAITO_KEY and print the answer's body (like gh api).",
        discussion: """
            PATH starts with /v1 (or is one of /health, /ready, /problems/CODE). --field builds a JSON object body:
            numbers, true, false and null are typed, anything else is a string; --raw-field always sends a string;
            --input sends a file (- for standard input) as the body instead. Without a body option a GET sends none.
            The exit code follows the status: 0 for 2xx, 3 for 401 and 403, 4 for 404, 5 for 429, 1 otherwise.
            Example: kaito api POST /v1/tokens --field slug=aws-prod --raw-field secret=JBSWY3DPEHPK3PXP
            """
    )

    @Argument(help: "The method: GET, POST, PATCH, PUT or DELETE.")
    var method: String

    @Argument(help: "The path, with its query (/v1/tokens?limit=10).")
    var path: String

    @Option(name: [.customShort("f"), .customLong("field")], help: "key=value for the JSON body, typed (repeatable).")
    var fields: [String] = []

    @Option(name: [.customShort("r"), .customLong("raw-field")], help: "key=value for the JSON body, always a string (repeatable).")
    var rawFields: [String] = []

    @Option(help: "A file whose bytes are the body (- for standard input).")
    var input: String?

    @Flag(help: "Print the status line and the answer's headers on standard error too.")
    var include = false

    @OptionGroup var client: ClientOptions

    static let methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]

    func validate() throws {
        guard Self.methods.contains(method.uppercased()) else { throw ValidationError("METHOD must be one of \(Self.methods.joined(separator: ", "))") }
        guard path.hasPrefix("/") else { throw ValidationError("PATH must start with /") }
        guard input == nil || (fields.isEmpty && rawFields.isEmpty) else { throw ValidationError("--input and --field/--raw-field exclude each other") }
    }

    /// The JSON body that `--field` and `--raw-field` describe, or nil without either.
    static func body(fields: [String], rawFields: [String]) throws -> [UInt8]? {
        guard !fields.isEmpty || !rawFields.isEmpty else { return nil }
        var object: [String: Any] = [:]
        for (pair, typed) in fields.map({ ($0, true) }) + rawFields.map({ ($0, false) }) {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("\(typed ? "--field" : "--raw-field") takes key=value, not \(pair)")
            }
            let key = String(pair[..<equals]), text = String(pair[pair.index(after: equals)...])
            object[key] = typed ? Self.typed(text) : text
        }
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    static func typed(_ text: String) -> Any {
        switch text {
        case "true": return true
        case "false": return false
        case "null": return NSNull()
        default: return Int(text) ?? text
        }
    }

    func run() async throws {
        var body = try Self.body(fields: fields, rawFields: rawFields)
        if let input {
            body = input == "-" ? Array(FileHandle.standardInput.readDataToEndOfFile()) : Array(try Data(contentsOf: URL(fileURLWithPath: input)))
        }
        let answer = try await client.withClient { try await $0.raw(method: method.uppercased(), path: path, body: body) }
        if include {
            FileHandle.standardError.write(Data((["HTTP \(answer.status)"] + answer.headers.map { "\($0.name): \($0.value)" }).joined(separator: "\n").utf8 + Array("\n".utf8)))
        }
        if !answer.body.isEmpty {
            FileHandle.standardOutput.write(Data(answer.body))
            if answer.body.last != UInt8(ascii: "\n") { FileHandle.standardOutput.write(Data("\n".utf8)) }
        }
        guard (200..<300).contains(answer.status) else {
            throw ExitCode(KaitoClientError.problem(status: answer.status, problem: nil, retryAfter: nil).exitCode)
        }
    }
}

/// `kaito completion bash|zsh|fish`: the shell's completion script for every command and option.
struct Completion: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the completion script of a shell (bash, zsh or fish) for kaito.",
        discussion: """
            Example (bash): kaito completion bash > /etc/bash_completion.d/kaito
            Example (zsh): kaito completion zsh > "${fpath[1]}/_kaito"
            Example (fish): kaito completion fish > ~/.config/fish/completions/kaito.fish
            """
    )

    @Argument(help: "bash, zsh or fish.")
    var shell: String

    func validate() throws {
        guard CompletionShell(rawValue: shell) != nil else { throw ValidationError("the shell must be bash, zsh or fish") }
    }

    func run() throws {
        print(Kaito.completionScript(for: CompletionShell(rawValue: shell)!))
    }
}
