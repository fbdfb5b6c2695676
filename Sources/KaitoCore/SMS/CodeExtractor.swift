import Foundation

/// Finds the one-time code in an SMS body, or nil when there is none or it is ambiguous.
///
/// A message must say it carries a code ("code", "OTP", "PIN", "verification", "passcode", ... in the common
/// languages) or nothing is taken from it. Candidates are whole words: 4 to 8 digits, Google's `G-123456`,
/// WhatsApp's `123-456`, and, right beside a keyword, 4 to 8 uppercase letters and digits with at least one of each
/// (`AB12CD`). Amounts, dates, times, phone numbers, URLs and order or card numbers never match: a word that holds
/// `$ € £ . , / :` or starts with `+` or `#`, or follows "ending", "card", "order", ... is not a candidate, and
/// a 4-digit year is taken only right after a keyword. The code is the single distinct candidate within five words
/// of a keyword; failing that, the single distinct numeric candidate of the whole message; anything else is
/// ambiguous.
public enum CodeExtractor {
    /// Keywords matched as whole words (short ones, which would otherwise hide inside other words).
    static let wordKeywords: Set<String> = [
        "otp", "pin", "2fa", "mfa", "tan", "kod", "kód", "kode", "koodi", "clave", "senha", "token",
    ]
    /// Keywords matched anywhere inside a word (so `Bestätigungscode`, `verification`, `验证码是`).
    static let substringKeywords = [
        "code", "verif", "passcode", "password", "one-time", "onetime", "código", "codigo", "codice", "код",
        "验证码", "驗證碼", "校验码", "認証", "确认码", "コード", "인증", "kodu", "passord", "wachtwoord",
    ]
    /// Words after which a number is an account, card, order or reference number, not a code.
    static let referenceWords: Set<String> = [
        "ending", "ends", "card", "account", "acct", "a/c", "order", "ref", "reference", "invoice", "ticket", "booking",
        "flight", "room", "no", "no.", "number", "id", "x", "extension", "ext", "usd", "eur", "gbp", "inr", "rs",
        "rs.", "jpy", "chf", "$", "€", "£",
    ]
    static let currencyWords: Set<String> = ["usd", "eur", "gbp", "inr", "jpy", "chf", "dollars", "euros", "rupees"]
    static let window = 5

    struct Word {
        let raw: Substring
        let stripped: String
        let lowered: String
    }

    struct Candidate: Equatable {
        let value: String
        let index: Int
        let numeric: Bool
    }

    public static func extract(from body: String) -> String? {
        let words = tokenize(body)
        let keywordIndices = words.indices.filter { isKeyword(words[$0]) }
        guard !keywordIndices.isEmpty else { return nil }

        var candidates: [Candidate] = []
        for (index, word) in words.enumerated() {
            guard let candidate = candidate(word, at: index, in: words, keywords: keywordIndices) else { continue }
            candidates.append(candidate)
        }
        func distance(_ candidate: Candidate) -> Int {
            keywordIndices.map { abs($0 - candidate.index) }.min() ?? .max
        }
        let near = Set(candidates.filter { distance($0) <= window }.map(\.value))
        if near.count == 1 { return near.first }
        if near.count > 1 { return nil }
        let numeric = Set(candidates.filter(\.numeric).map(\.value))
        return numeric.count == 1 ? numeric.first : nil
    }

    /// Whitespace-separated words, with digits split from CJK text (which has no spaces) and surrounding
    /// punctuation stripped.
    static func tokenize(_ body: String) -> [Word] {
        var spaced = ""
        var previous: Character?
        let fullWidth: [Character: String] = ["，": ", ", "。": ". ", "：": ": ", "；": "; ", "！": "! ", "？": "? ", "、": ", "]
        for character in body.flatMap({ fullWidth[$0] ?? String($0) }) {
            if let previous, isCJK(previous) != isCJK(character), previous.isNumber || character.isNumber {
                spaced.append(" ")
            }
            if isCJK(character), let previous, isCJK(previous) == false, !previous.isWhitespace {
                spaced.append(" ")
            }
            spaced.append(character)
            previous = character
        }
        let edges = CharacterSet(charactersIn: ".,;:!?()[]{}\"'“”‘’«»<>*")
        return spaced.split(whereSeparator: { $0.isWhitespace }).map { raw in
            let stripped = String(raw).trimmingCharacters(in: edges)
            return Word(raw: raw, stripped: stripped, lowered: stripped.lowercased())
        }
    }

    static func isCJK(_ character: Character) -> Bool {
        guard let scalar = character.unicodeScalars.first?.value else { return false }
        return (0x2E80...0x9FFF).contains(scalar) || (0xAC00...0xD7AF).contains(scalar) || (0xF900...0xFAFF).contains(scalar)
    }

    static func isKeyword(_ word: Word) -> Bool {
        wordKeywords.contains(word.lowered) || substringKeywords.contains { word.lowered.contains($0) }
    }

    static func candidate(_ word: Word, at index: Int, in words: [Word], keywords: [Int]) -> Candidate? {
        let text = word.stripped
        if word.raw.hasPrefix("+") || word.raw.hasPrefix("#") { return nil }
        if word.raw.contains(where: { "$€£¥₹/:".contains($0) }) { return nil }
        if index >= 1, referenceWords.contains(words[index - 1].lowered) { return nil }
        if index >= 2, ["ending", "ends", "last"].contains(words[index - 2].lowered) { return nil }
        if index + 1 < words.count, currencyWords.contains(words[index + 1].lowered) { return nil }
        let besideKeyword = keywords.contains { abs($0 - index) <= 2 }

        if let digits = numericCode(text) {
            // A 4-digit number in the range of years counts only right after a keyword ("code is 2024").
            let afterKeyword = keywords.contains { (1...2).contains(index - $0) }
            if digits.count == 4, let year = Int(digits), (1900...2099).contains(year), !afterKeyword { return nil }
            return Candidate(value: digits, index: index, numeric: true)
        }
        if besideKeyword, isAlphanumericCode(text) {
            return Candidate(value: text, index: index, numeric: false)
        }
        return nil
    }

    /// `123456`, `G-123456` or `123-456` as their digits.
    static func numericCode(_ text: String) -> String? {
        let ascii = Array(text.utf8)
        func allDigits<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
            !bytes.isEmpty && bytes.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        }
        if (4...8).contains(ascii.count), allDigits(ascii) { return text }
        if ascii.count >= 6, ascii.count <= 10, ascii[0] == UInt8(ascii: "G") || ascii[0] == UInt8(ascii: "g"), ascii[1] == UInt8(ascii: "-"),
           allDigits(ascii.dropFirst(2)) {
            return String(text.dropFirst(2))
        }
        if ascii.count == 7, ascii[3] == UInt8(ascii: "-"), allDigits(ascii.prefix(3)), allDigits(ascii.suffix(3)) {
            return String(text.prefix(3)) + String(text.suffix(3))
        }
        return nil
    }

    /// 4 to 8 ASCII uppercase letters and digits with at least one of each.
    static func isAlphanumericCode(_ text: String) -> Bool {
        let ascii = Array(text.utf8)
        guard (4...8).contains(ascii.count) else { return false }
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        let isUpper = { (byte: UInt8) in (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) }
        return ascii.allSatisfy { isDigit($0) || isUpper($0) } && ascii.contains(where: isDigit) && ascii.contains(where: isUpper)
    }
}
