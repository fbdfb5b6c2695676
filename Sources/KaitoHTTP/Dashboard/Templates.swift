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
        ("token_picker", PackageResources.token_picker_mustache),
        ("users", PackageResources.users_mustache),
        ("user", PackageResources.user_mustache),
        ("account", PackageResources.account_mustache),
        ("webhook_state", PackageResources.webhook_state_mustache),
        ("webhooks", PackageResources.webhooks_mustache),
        ("webhook", PackageResources.webhook_mustache),
        ("keys", PackageResources.keys_mustache),
        ("qr_field", PackageResources.qr_field_mustache),
        ("add_token", PackageResources.add_token_mustache),
        ("token", PackageResources.token_mustache),
        ("tokens", PackageResources.tokens_mustache),
        ("activity_chart", PackageResources.activity_chart_mustache),
        ("field_error", PackageResources.field_error_mustache),
        ("field_marks", PackageResources.field_marks_mustache),
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

    /// One checkbox of a list, a line each (the `checkbox` fragment).
    struct Checkbox {
        let name: String, value: String, label: String, checked: Bool
    }

    /// A one-button form posting to `action` (the `post_button` fragment: revoke, delete, send a test).
    struct PostButton {
        let action: String, label: String, csrf: String, danger: Bool
    }

    /// A form's tokens (the `token_picker` fragment): a checkbox for each of the first `pickerSize`, and the rest, if
    /// there may be more, typed by slug.
    struct TokenPicker {
        struct More {
            let pickerSize: Int
            /// The picked slugs that have no checkbox, a line each.
            let unshown: String
        }
        let boxes: [Checkbox]
        let more: More?
        let empty: Bool

        /// `shown` as checkboxes labelled by `label`, those in `picked` checked.
        init(shown: [Token], picked: [String], pickerSize: Int, label: (Token) -> String) {
            boxes = shown.map { Checkbox(name: "token", value: $0.slug, label: label($0), checked: picked.contains($0.slug)) }
            let unshown = picked.filter { slug in !shown.contains { $0.slug == slug } }
            more = shown.count >= pickerSize || !unshown.isEmpty ? More(pickerSize: pickerSize, unshown: unshown.joined(separator: "\n")) : nil
            empty = shown.isEmpty
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
