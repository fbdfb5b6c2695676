import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore

/// Server-rendered HTML from templates that escape every value (`Templates`); pages share one layout, one
/// stylesheet and one script, served from the same origin (the Content-Security-Policy allows nothing inline).
enum HTML {
    /// Text as the templates escape it: to find a rendered form field (`markingFields`) and for the label of the QR
    /// code's SVG, which is drawn by code. Everything else on a page goes through a template (`Templates`).
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// What the change before this page did, carried across its redirect (`DashboardPage.signedIn` sets it):
    /// a signed-in page's layout says it above the page's own content.
    @TaskLocal static var carriedNotice: String?

    /// The fields a refused form got wrong, by their names in the form, with what is wrong in words
    /// (`DashboardPage.refused` sets them): the page says each beside its field too.
    @TaskLocal static var fieldErrors: [(name: String, message: String)] = []
    /// The path the refused form was posted to (`DashboardPage.signedInForm` sets it): its fields are the ones
    /// marked, not those of the page's other forms with the same names.
    @TaskLocal static var postedAction: String?

    /// `body` with each of `fieldErrors` said just before the first field of its name, which is marked invalid and
    /// described by it. (The names come from the form's own table, `KaitoError.formField`; messages are escaped.)
    static func markingFields(_ body: String) -> String {
        var body = body
        var seen = Set<String>()
        for (name, _) in fieldErrors where seen.insert(name).inserted {
            let message = fieldErrors.filter { $0.name == name }.map(\.message).joined(separator: "; ")
            // Within the form that was posted (the first form when it is not known).
            var start = body.startIndex, end = body.endIndex
            if let action = postedAction, let form = body.range(of: #"action="\#(escape(action))""#) {
                start = form.upperBound
                end = body[start...].range(of: "</form>")?.lowerBound ?? body.endIndex
            }
            guard let field = body[start..<end].range(of: #"name="\#(escape(name))""#), let tag = body[start..<field.lowerBound].lastIndex(of: "<"),
                  let nameEnd = body[tag...].firstIndex(of: " ") else { continue }
            let mark = ["id": "error-" + name, "message": message]
            body.insert(contentsOf: Templates.render("field_marks", mark), at: nameEnd)
            body.insert(contentsOf: Templates.render("field_error", mark), at: tag)
        }
        return body
    }

    /// A whole page: `title`, the navigation when `signedIn` (with the sign-out form's CSRF token), and `body`.
    static func page(_ title: String, signedIn: (email: String, csrf: String, isAdmin: Bool)? = nil, _ body: String) -> String {
        struct Navigation { let email: String, csrf: String, isAdmin: Bool }
        struct Page { let title: String, signedIn: Navigation?, notice: String?, body: String }
        return Templates.render("page", Page(
            title: title, signedIn: signedIn.map { Navigation(email: $0.email, csrf: $0.csrf, isAdmin: $0.isAdmin) },
            notice: signedIn == nil ? nil : carriedNotice, body: fieldErrors.isEmpty ? body : markingFields(body)))
    }

    static func error(_ message: String?) -> String {
        guard let message else { return "" }
        return Templates.render("error", ["error": message])
    }

    /// The link to a list's next page: `path` with `query` kept and the cursor the list ended at (`after`, or
    /// `before` for lists that go back in time); nothing on the last page.
    static func nextPage(_ path: String, cursor: String?, name: String = "after", keeping query: [(String, String)] = [],
                         label: String = "Next page") -> String {
        guard let cursor else { return "" }
        var components = URLComponents()
        components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } + [URLQueryItem(name: name, value: cursor)]
        return Templates.render("next_page", ["href": path + "?" + (components.percentEncodedQuery ?? ""), "label": label])
    }

    /// A list page's cursor from its address (`after` unless named): an id or a slug (letters, digits, `_`, `-`), at
    /// most 200 characters; anything else is no cursor (the first page).
    static func cursor(_ request: Request, _ name: String = "after") -> String? {
        guard let value = request.uri.queryParameters[Substring(name)], !value.isEmpty, value.count <= 200,
              value.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "_" || $0 == "-" }) else { return nil }
        return String(value)
    }

    /// Headers of every dashboard page: no caching, no framing, no inline script, no referrer.
    static let headers: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    static func response(_ html: String, status: HTTPResponse.Status = .ok, cookies: [Cookie] = []) -> Response {
        var response = Response(status: status, headers: HTML.headers, body: .init(byteBuffer: ByteBuffer(string: html)))
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }

    /// 303 See Other to `location` (after a form), with cookies to set.
    static func redirect(_ location: String, cookies: [Cookie] = []) -> Response {
        var response = Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }
}
