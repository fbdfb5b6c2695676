import AsyncHTTPClient
import Foundation
import KaitoCore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Sends queued SMS: claims due messages under a lease (so that no two servers send one), sends each through its
/// provider (Twilio's Messages API, or the simulator), and records the outcome. A message the provider accepted is
/// never sent again; its status then moves with the provider's signed status callbacks.
public struct SMSSender: Service {
    let sms: SMSService
    let logger: Logger
    /// Twilio's API, or a Twilio-compatible one for tests (`KAITO_TWILIO_API_BASE`).
    let twilioAPIBase: String
    /// Where Twilio sends status callbacks: `<KAITO_PUBLIC_URL>/providers/twilio/status`; nil without a public URL.
    let statusCallbackURL: String?
    let pollInterval: Duration
    let lease: TimeInterval = 60
    let batchSize = 16
    public static let defaultTwilioAPIBase = "https://api.twilio.com"

    public init(sms: SMSService, logger: Logger, twilioAPIBase: String?, publicURL: String?, pollInterval: Duration = .milliseconds(500)) {
        self.sms = sms
        self.logger = logger
        let base = twilioAPIBase ?? Self.defaultTwilioAPIBase
        self.twilioAPIBase = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.statusCallbackURL = publicURL.map { ($0.hasSuffix("/") ? String($0.dropLast()) : $0) + "/providers/twilio/status" }
        self.pollInterval = pollInterval
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    let sent: Int
                    do {
                        sent = try await sendDue()
                    } catch {
                        logger.error("sms sending failed", metadata: ["error_type": "\(type(of: error))"])
                        sent = 0
                    }
                    if sent == 0 { try await Task.sleep(for: pollInterval) }
                }
            }
        } catch is CancellationError {
            return
        }
    }

    /// Claims and sends every due message once; returns how many were attempted.
    @discardableResult
    public func sendDue() async throws -> Int {
        let claimed = try await sms.claimDue(limit: batchSize, lease: lease)
        await withTaskGroup(of: Void.self) { group in
            for message in claimed { group.addTask { await send(message) } }
        }
        return claimed.count
    }

    func send(_ message: OutboundSMS) async {
        let outcome: SMSService.SendOutcome
        switch message.provider {
        case .simulator:
            outcome = .accepted(providerMessageID: "SIM" + message.id.dropFirst(OutboundSMS.idPrefix.count + 1).lowercased(), status: .delivered)
        case .twilio:
            outcome = await sendThroughTwilio(message)
        }
        do {
            try await sms.record(outcome, of: message)
            logger.info("sms attempt", metadata: ["message": "\(message.id)", "outcome": "\(Self.describe(outcome))"])
        } catch {
            logger.error("sms bookkeeping failed", metadata: ["message": "\(message.id)", "error_type": "\(type(of: error))"])
        }
    }

    func sendThroughTwilio(_ message: OutboundSMS) async -> SMSService.SendOutcome {
        let account: (accountSID: String, authToken: String)?
        do {
            account = try await sms.twilioAccount(organizationID: message.organizationID)
        } catch {
            return .retryable("the Twilio credentials could not be read")
        }
        guard let account else { return .rejected("the organisation has no Twilio credentials") }
        var form = [("To", message.to), ("From", message.from), ("Body", message.body)]
        if let statusCallbackURL { form.append(("StatusCallback", statusCallbackURL)) }
        var request = HTTPClientRequest(url: "\(twilioAPIBase)/2010-04-01/Accounts/\(account.accountSID)/Messages.json")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(account.accountSID):\(account.authToken)".utf8).base64EncodedString())
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "User-Agent", value: "Kaito-SMS/1")
        request.body = .bytes(ByteBuffer(string: Self.formEncode(form)))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
            let body = try await response.body.collect(upTo: 256 * 1024)
            let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            switch response.status.code {
            case 200..<300:
                guard let sid = object["sid"] as? String, !sid.isEmpty else { return .retryable("Twilio's answer has no sid") }
                let status = (object["status"] as? String).flatMap(OutboundSMS.Status.init(twilio:)) ?? .queued
                return .accepted(providerMessageID: sid, status: status)
            case 429, 500...:
                return .retryable("Twilio answered \(response.status.code)")
            default:
                let code = (object["code"] as? Int).map { " \($0)" } ?? ""
                let text = (object["message"] as? String).map { ": \($0.prefix(200))" } ?? ""
                return .rejected("Twilio error\(code) (HTTP \(response.status.code))\(text)")
            }
        } catch {
            return .retryable("no answer from Twilio: \(type(of: error))")
        }
    }

    static func formEncode(_ parameters: [(String, String)]) -> String {
        // Unreserved ASCII only (CharacterSet.alphanumerics would let non-ASCII letters through unescaped).
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return parameters.map { name, value in
            "\(name.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }

    static func describe(_ outcome: SMSService.SendOutcome) -> String {
        switch outcome {
        case .accepted(_, let status): return "accepted (\(status.rawValue))"
        case .rejected: return "rejected"
        case .retryable: return "will retry"
        }
    }
}
