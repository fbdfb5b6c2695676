import Foundation
import Hummingbird
import KaitoAPIModels
@testable import KaitoHTTP
import Testing

@Suite("JSON answers: the request context's encoder")
struct JSONAnswerTests {
    @Test("A code written directly is, byte for byte, what the encoder writes; any other code goes through the encoder")
    func directCode() throws {
        for code in [CodeResponse(code: "482913", expiresIn: 17, period: 30), CodeResponse(code: "00000000", expiresIn: 0, period: 60),
                     CodeResponse(code: "7", expiresIn: 119, period: 120)] {
            let direct = try #require(KaitoJSONEncoder.direct(code))
            #expect(Array(direct.readableBytesView) == Array(try KaitoJSONEncoder.json.encode(code)), "\(code)")
        }
        // Steam Guard's letters, an empty code and anything JSON would have to escape are left to the encoder.
        for text in ["2BCDF", "", #""},"x":"1"#, "12\u{0}3", "١٢٣"] {
            #expect(KaitoJSONEncoder.direct(CodeResponse(code: text, expiresIn: 1, period: 30)) == nil, "\(text)")
        }
        let answer = try KaitoJSONEncoder().encode(CodeResponse(code: "2BCDF", expiresIn: 1, period: 30), status: .created)
        #expect(answer.status == .created && answer.headers[.contentType] == "application/json")
    }

    @Test("The encoder writes keys sorted and slashes unescaped: the same value is always the same bytes")
    func stable() throws {
        struct Sample: Encodable { let zeta = 1, alpha = "a/b", middle = ["y": 2, "b": 1] }
        #expect(String(decoding: try KaitoJSONEncoder.json.encode(Sample()), as: UTF8.self) == #"{"alpha":"a/b","middle":{"b":1,"y":2},"zeta":1}"#)
    }
}
