import Foundation
import Testing

@testable import KaitoHTTP

/// The dashboard's templates: each parses, and every value they are given is escaped, in text and in attributes.
@Suite("Dashboard templates")
struct TemplatesTests {
    /// Markup, both quotes and an entity: what a hostile token name, email or URL could hold.
    static let hostile = #"<script>alert("x")</script>' onmouseover='x' &amp;"#
    static let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x&#39; &amp;amp;"

    @Test("Every template parses")
    func everyTemplateParses() {
        for (name, _) in Templates.files {
            #expect(Templates.library.getTemplate(named: name) != nil, "\(name)")
        }
    }

    @Test("A value is escaped wherever a template puts it")
    func valuesAreEscaped() {
        let h = Self.hostile
        let fragments = [
            HTML.page(h, signedIn: (email: h, csrf: h, isAdmin: true), "<p>body</p>"),
            HTML.error(h), Templates.render("notice", ["notice": h]), Templates.render("csrf", ["csrf": h]),
            Templates.render("copyable", Templates.Copyable(value: h, id: h)),
            Templates.render("checkbox", Templates.Checkbox(name: h, value: h, label: h, checked: true)),
            Templates.render("post_button", Templates.PostButton(action: h, label: h, csrf: h, danger: true)),
            Templates.render("confirmed_action", Templates.Confirmation(action: h, label: h, expected: h, consequence: h, csrf: h)),
            Templates.render("field_error", ["id": h, "message": h]), Templates.render("field_marks", ["id": h]),
            HTML.nextPage(h, cursor: "c", label: h),
        ]
        for html in fragments {
            #expect(!html.contains("<script>"), "\(html)")
            #expect(!html.contains("'x'"), "\(html)")
            #expect(html.contains(Self.escaped) || html.contains("%3Cscript%3E"), "\(html)")
        }
    }

    @Test("A page's body is HTML a template made: it goes in as it is, once")
    func bodyIsInsertedOnce() {
        let page = HTML.page("Title", "<p id=\"mine\">body</p>")
        #expect(page.components(separatedBy: "<p id=\"mine\">body</p>").count == 2)
        #expect(page.hasPrefix("<!doctype html>"))
        #expect(page.hasSuffix("</html>"))
        #expect(!page.contains("<nav"), "no navigation when signed out")
    }
}
