import Foundation
@testable import KaitoHTTP
import Testing

@Suite("Strict JSON: one reading of a body, no repeated keys at any depth")
struct StrictJSONTests {
    /// (text, the path of the repeated key).
    static let repeated: [(String, String)] = [
        (#"{"a": 1, "a": 2}"#, "a"),
        (#"{"a": 1, "\u0061": 2}"#, "a"),
        (#"{"a": {"b": 1, "b": 1}}"#, "a.b"),
        (#"{"a": [{"b": 1}, {"c": 1, "c": 2}]}"#, "a[1].c"),
        (#"{"a": [[{"x": {"y": 1, "y": 2}}]]}"#, "a[0][0].x.y"),
        (#"{"é": 1, "e\u0301": 2}"#, "e\u{301}"),
    ]

    @Test("A key given twice is an error naming its path", arguments: repeated)
    func duplicate(input: (String, String)) {
        #expect(throws: StrictJSON.Failure.duplicateKey(path: input.1)) { try StrictJSON.parse(Array(input.0.utf8)) }
    }

    static let malformed: [String] = [
        "", " ", "{", "}", #"{"a"}"#, #"{"a":}"#, #"{"a": 1,}"#, "[1,]", #"{a: 1}"#, "{'a': 1}", "01", "1.", ".5", "-", "+1",
        "1e", "NaN", "Infinity", "tru", "nul", #""\x""#, #""\u12""#, #""\ud800""#, #""\udc00""#, "\"a\u{01}b\"", #"{"a": 1} x"#,
        #"{"a": 1}{"b": 2}"#, String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ]

    @Test("Malformed JSON is a syntax error (never a trap)", arguments: malformed)
    func syntax(text: String) {
        #expect(throws: StrictJSON.Failure.syntax) { try StrictJSON.parse(Array(text.utf8)) }
    }

    @Test("Invalid UTF-8 in a string is a syntax error")
    func invalidUTF8() {
        #expect(throws: StrictJSON.Failure.syntax) { try StrictJSON.parse([0x22, 0xFF, 0x22]) }
    }

    @Test("What JSONSerialization reads, StrictJSON reads the same way")
    func agrees() throws {
        let texts = [
            #"{"a": [1, -2.5e3, 0, true, false, null, "x\n\"\u00e9\ud83d\ude00"], "b": {}, "c": []}"#,
            #" { "name" : "ci" , "rate_limits" : { "code" : 5 } } "#,
        ]
        for text in texts {
            let parsed = try StrictJSON.parse(Array(text.utf8))
            guard case .object(let entries) = parsed else { Issue.record("not an object"); continue }
            let reference = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            #expect(entries.map(\.key).sorted() == reference.keys.sorted())
        }
        #expect(try StrictJSON.parse(Array(#""x\n\"\u00e9\ud83d\ude00""#.utf8)) == .string("x\n\"é😀"))
    }
}
