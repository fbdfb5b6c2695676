import Foundation
import KaitoCore
import Mustache

/// The dashboard's HTML templates (`Templates/*.mustache`, compiled into the binary): Mustache escapes every
/// `{{value}}` it puts in a page; only `{{{...}}}` inserts text as it is, and the templates use it for nothing but
/// HTML that a template made.
///
/// A page or fragment is rendered from a value whose properties the template names (`render(_:_:)`); fragments a
/// template includes (`{{> csrf}}`) read the same value.
enum Templates {
    /// Every template, by its file name without `.mustache` (each one is also a partial of the others).
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, bytes) in files {
            var text = String(decoding: bytes, as: UTF8.self)
            // A file's last line break is the editor's, not the page's.
            if text.hasSuffix("\n") { text.removeLast() }
            do {
                try library.register(text, named: name)
            } catch {
                preconditionFailure("the dashboard template \(name) does not parse: \(error)")
            }
        }
        return library
    }()

    /// The template files, by name.
    static let files: [(String, [UInt8])] = [
        ("page", PackageResources.page_mustache),
        ("csrf", PackageResources.csrf_mustache),
        ("error", PackageResources.error_mustache),
        ("notice", PackageResources.notice_mustache),
        ("time", PackageResources.time_mustache),
        ("copyable", PackageResources.copyable_mustache),
        ("checkbox", PackageResources.checkbox_mustache),
        ("post_button", PackageResources.post_button_mustache),
        ("confirmed_action", PackageResources.confirmed_action_mustache),
        ("next_page", PackageResources.next_page_mustache),
        ("seed", PackageResources.seed_mustache),
        ("login", PackageResources.login_mustache),
        ("second_factor", PackageResources.second_factor_mustache),
        ("messages", PackageResources.messages_mustache),
        ("inboxes", PackageResources.inboxes_mustache),
        ("audit", PackageResources.audit_mustache),
        ("billing", PackageResources.billing_mustache),
    ]

    /// A value to copy with its button (the `copyable` fragment).
    struct Copyable {
        let value: String
        let id: String
    }

    /// A destructive action behind a disclosure whose form asks for `expected` to be typed (the `confirmed_action`
    /// fragment; `DashboardPage.confirmed` checks it).
    struct Confirmation {
        let action: String, label: String, expected: String, consequence: String, csrf: String
        /// The confirmation field's id, from the action's letters and digits.
        let id: String

        init(action: String, label: String, expected: String, consequence: String, csrf: String) {
            (self.action, self.label, self.expected, self.consequence, self.csrf) = (action, label, expected, consequence, csrf)
            id = "confirm-" + String(action.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }.prefix(60))
        }
    }

    /// An instant (the `time` fragment): UTC, which the page's script shows in the reader's zone.
    struct Time {
        let utc: String
        init(_ date: Date) { utc = Timestamp.format(date) }
    }

    /// `name` rendered with `object`'s properties (a struct's, or a dictionary's keys).
    static func render(_ name: String, _ object: Any) -> String {
        guard let html = library.render(object, withTemplate: name) else { preconditionFailure("no dashboard template \(name)") }
        return html
    }
}
