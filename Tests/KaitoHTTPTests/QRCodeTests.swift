import Foundation
@testable import KaitoHTTP
import KaitoTestSupport
import Testing

/// The enrolment page's QR codes, decoded by an independent reader (zxing-cpp, from PyPI).
@Suite("QR codes for the second-factor enrolment")
struct QRCodeTests {
    /// zxing-cpp's reading of each code (rendered with a quiet zone, four pixels a module), one line per code.
    static func decode(_ codes: [QRCode]) async throws -> [String] {
        let rows = codes.map { code in code.modules.map { row in String(row.map { $0 ? "1" : "0" }) }.joined(separator: ",") }
        let script = """
            import sys, zxingcpp
            from PIL import Image
            for text in sys.argv[1:]:
                rows = text.split(",")
                size = len(rows) + 8
                image = Image.new("L", (size, size), 255)
                for y, row in enumerate(rows):
                    for x, bit in enumerate(row):
                        if bit == "1":
                            image.putpixel((x + 4, y + 4), 0)
                image = image.resize((size * 4, size * 4), Image.NEAREST)
                found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
                print(found[0].text.encode("unicode_escape").decode() if found else "<none>")
            """
        return try await TestEnvironment.runPython(script, rows).split(separator: "\n").map(String.init)
    }

    @Test("Texts from 1 to 271 bytes decode to themselves in versions 1 to 10 (two block groups, version information)")
    func decodes() async throws {
        let uri = "otpauth://totp/Kaito%20default:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kaito%20default&algorithm=SHA1&digits=6&period=30"
        let texts = ["A", "hello, world", String(repeating: "x", count: 60), uri, uri + "&x=" + String(repeating: "é", count: 40), String(repeating: "0123456789", count: 27) + "z"]
        let codes = try texts.map { try #require(QRCode($0)) }
        #expect(codes.map(\.version) == [1, 1, 4, 7, 9, 10])
        #expect(codes.map(\.size) == codes.map { $0.version * 4 + 17 })
        let decoded = try await Self.decode(codes)
        let expected = texts.map { $0.unicodeScalars.map { $0.isASCII ? String($0) : String(format: "\\x%02x", $0.value) }.joined() }
        #expect(decoded == expected)
        #expect(QRCode(String(repeating: "x", count: 272)) == nil, "longer than version 10 holds")
    }

    @Test("The enrolment page shows the otpauth URI as a QR code, and the SVG is well formed")
    func svg() async throws {
        let code = try #require(QRCode("otpauth://totp/Kaito:a%40b.example?secret=JBSWY3DPEHPK3PXP&issuer=Kaito"))
        let svg = code.svg(label: "a <label>")
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>") && svg.contains("a &lt;label&gt;"))
        #expect(svg.contains(#"viewBox="0 0 \#(code.size + 8) \#(code.size + 8)""#))
        let root = try await TestEnvironment.runPython("import sys, xml.etree.ElementTree as E; print(E.fromstring(sys.argv[1]).tag)", [svg])
        #expect(root == "{http://www.w3.org/2000/svg}svg")
    }
}
