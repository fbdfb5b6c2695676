import AsyncHTTPClient
import Foundation
import KaitoCore
import NIOCore

/// Sends an SMS through one provider and says what became of it. (Inbound messages come the other way: each
/// provider's signed callback route feeds `SMSService`'s one receiving path.)
public protocol SMSProviderClient: Sendable {
    func send(_ message: OutboundSMS) async -> SMSService.SendOutcome
}

/// The simulator "delivers" at once, without a network.
struct SimulatorProviderClient: SMSProviderClient {
    func send(_ message: OutboundSMS) async -> SMSService.SendOutcome {
        .accepted(providerMessageID: "SIM" + message.id.dropFirst(OutboundSMS.idPrefix.count + 1).lowercased(), status: .delivered)
    }
}

/// Twilio's Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with basic auth (the organisation's
/// Account SID and Auth Token) and form-encoded `To`, `From`, `Body` and `StatusCallback`. A 2xx is accepted, a 429,
/// 5xx or no answer may pass, any other 4xx is Twilio refusing the message for good.
struct TwilioProviderClient: SMSProviderClient {
    static let defaultAPIBase = "https://api.twilio.com"
    let sms: SMSService
    /// Twilio's API, or a Twilio-compatible one for tests (`KAITO_TWILIO_API_BASE`).
    let apiBase: String
    /// Where Twilio sends status callbacks: `<KAITO_PUBLIC_URL>/providers/twilio/status`; nil without a public URL.
    let statusCallbackURL: String?

    init(sms: SMSService, apiBase: String, publicURL: String?) {
        self.sms = sms
        self.apiBase = apiBase.hasSuffix("/") ? String(apiBase.dropLast()) : apiBase
        self.statusCallbackURL = publicURL.map { ($0.hasSuffix("/") ? String($0.dropLast()) : $0) + "/providers/twilio/status" }
    }

    func send(_ message: OutboundSMS) async -> SMSService.SendOutcome {
        let account: (accountSID: String, authToken: String)?
        do {
            account = try await sms.twilioAccount(organizationID: message.organizationID)
        } catch {
            return .retryable("the Twilio credentials could not be read")
        }
        guard let account else { return .rejected("the organisation has no Twilio credentials") }
        var form = [("To", message.to), ("From", message.from), ("Body", message.body)]
        if let statusCallbackURL { form.append(("StatusCallback", statusCallbackURL)) }
        var request = HTTPClientRequest(url: "\(apiBase)/2010-04-01/Accounts/\(account.accountSID)/Messages.json")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(account.accountSID):\(account.authToken)".utf8).base64EncodedString())
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "User-Agent", value: "Kaito-SMS/1")
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(form)))
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
}
