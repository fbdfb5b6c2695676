/// A QR code (ISO/IEC 18004) of a short text, for the second-factor enrolment page: byte mode, error correction
/// level L, the smallest of versions 1 to 10 that holds the text (up to 271 bytes; an otpauth URI is about 130). The
/// mask is the one of the eight with the lowest penalty under rules 1, 2 and 4 of the standard (rule 3, finder-like
/// runs, is left out: any mask decodes, the rules only make scanning easier). Checked against an independent
/// decoder (zxing-cpp) in the tests.
struct QRCode {
    /// Rows of modules, `true` for dark.
    let modules: [[Bool]]
    let version: Int
    var size: Int { modules.count }

    /// Per version (index 0 is version 1) at level L: error-correction codewords per block, and the blocks' data
    /// codeword counts (shorter blocks first).
    static let blocks: [(ecc: Int, data: [Int])] = [
        (7, [19]), (10, [34]), (15, [55]), (20, [80]), (26, [108]),
        (18, [68, 68]), (20, [78, 78]), (24, [97, 97]), (30, [116, 116]), (18, [68, 68, 69, 69]),
    ]
    static let alignment: [[Int]] = [
        [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50],
    ]

    /// Nil when the text is longer than version 10 holds.
    init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard let version = (1...10).first(where: { Self.capacityBits($0) >= Self.dataBits(bytes.count, version: $0) }) else { return nil }
        self.version = version
        var matrix = Matrix(version: version)
        matrix.place(Self.codewords(bytes, version: version))
        var best: (penalty: Int, modules: [[Bool]])?
        for mask in 0..<8 {
            var candidate = matrix
            candidate.apply(mask: mask)
            candidate.drawFormat(mask: mask)
            let penalty = candidate.penalty()
            if best == nil || penalty < best!.penalty { best = (penalty, candidate.modules) }
        }
        modules = best!.modules
    }

    static func capacityBits(_ version: Int) -> Int { blocks[version - 1].data.reduce(0, +) * 8 }

    static func dataBits(_ count: Int, version: Int) -> Int { 4 + (version < 10 ? 8 : 16) + 8 * count }

    /// The data codewords (mode, length, bytes, terminator, padding) in blocks, each followed by its Reed–Solomon
    /// codewords, interleaved as the standard orders them.
    static func codewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) { for i in (0..<count).reversed() { bits.append((value >> i) & 1 == 1) } }
        append(0b0100, 4)
        append(bytes.count, version < 10 ? 8 : 16)
        for byte in bytes { append(Int(byte), 8) }
        let capacity = capacityBits(version)
        append(0, min(4, capacity - bits.count))
        append(0, (8 - bits.count % 8) % 8)
        var data: [UInt8] = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
        }
        var pad: UInt8 = 0xEC
        while data.count < capacity / 8 {
            data.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        let (eccCount, sizes) = blocks[version - 1]
        let divisor = ReedSolomon.divisor(degree: eccCount)
        var split: [(data: ArraySlice<UInt8>, ecc: [UInt8])] = []
        var start = 0
        for size in sizes {
            let block = data[start..<start + size]
            split.append((block, ReedSolomon.remainder(Array(block), divisor)))
            start += size
        }
        var out: [UInt8] = []
        for i in 0..<(sizes.max() ?? 0) {
            for block in split where i < block.data.count { out.append(block.data[block.data.startIndex + i]) }
        }
        for i in 0..<eccCount {
            for block in split { out.append(block.ecc[i]) }
        }
        return out
    }

    /// The code as an SVG image with a quiet zone of four modules.
    func svg(label: String) -> String {
        let width = size + 8
        var path = ""
        for (y, row) in modules.enumerated() {
            for (x, dark) in row.enumerated() where dark { path += "M\(x + 4),\(y + 4)h1v1h-1z" }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 \(width) \(width)" role="img" aria-label="\(HTML.escape(label))" shape-rendering="crispEdges">\
            <rect width="\(width)" height="\(width)" fill="#fff"/><path d="\(path)" fill="#000"/></svg>
            """
    }

    /// The modules and which of them are function patterns (finders, timing, alignment, format, version).
    struct Matrix {
        var modules: [[Bool]]
        var isFunction: [[Bool]]
        let size: Int

        init(version: Int) {
            size = version * 4 + 17
            modules = Array(repeating: Array(repeating: false, count: size), count: size)
            isFunction = modules
            for i in 0..<size {
                set(6, i, i % 2 == 0)
                set(i, 6, i % 2 == 0)
            }
            for (x, y) in [(3, 3), (size - 4, 3), (3, size - 4)] {
                for dy in -4...4 {
                    for dx in -4...4 where (0..<size).contains(x + dx) && (0..<size).contains(y + dy) {
                        let distance = max(abs(dx), abs(dy))
                        set(x + dx, y + dy, distance != 2 && distance != 4)
                    }
                }
            }
            let centres = QRCode.alignment[version - 1]
            for (i, cx) in centres.enumerated() {
                for (j, cy) in centres.enumerated() {
                    let last = centres.count - 1
                    if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) { continue }
                    for dy in -2...2 {
                        for dx in -2...2 { set(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1) }
                    }
                }
            }
            drawFormat(mask: 0)  // reserves the format areas; drawn again with the chosen mask
            if version >= 7 {
                var remainder = version
                for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
                let bits = version << 12 | remainder
                for i in 0..<18 {
                    let dark = (bits >> i) & 1 == 1
                    let (a, b) = (size - 11 + i % 3, i / 3)
                    set(a, b, dark)
                    set(b, a, dark)
                }
            }
        }

        /// Sets a function module at column `x`, row `y`.
        mutating func set(_ x: Int, _ y: Int, _ dark: Bool) {
            modules[y][x] = dark
            isFunction[y][x] = true
        }

        /// Level L (bits 01) and the mask, BCH-coded, in both copies; and the dark module.
        mutating func drawFormat(mask: Int) {
            let data = 0b01 << 3 | mask
            var remainder = data
            for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
            let bits = (data << 10 | remainder) ^ 0x5412
            func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
            for i in 0...5 { set(8, i, bit(i)) }
            set(8, 7, bit(6))
            set(8, 8, bit(7))
            set(7, 8, bit(8))
            for i in 9..<15 { set(14 - i, 8, bit(i)) }
            for i in 0..<8 { set(size - 1 - i, 8, bit(i)) }
            for i in 8..<15 { set(8, size - 15 + i, bit(i)) }
            set(8, size - 8, true)
        }

        /// The codewords' bits in the two-column zigzag from the bottom right, around the function modules.
        mutating func place(_ codewords: [UInt8]) {
            var index = 0
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                for vertical in 0..<size {
                    for j in 0..<2 {
                        let x = right - j
                        let upward = (right + 1) & 2 == 0
                        let y = upward ? size - 1 - vertical : vertical
                        if !isFunction[y][x] && index < codewords.count * 8 {
                            modules[y][x] = (codewords[index >> 3] >> (7 - index & 7)) & 1 == 1
                            index += 1
                        }
                    }
                }
                right -= 2
            }
        }

        mutating func apply(mask: Int) {
            for y in 0..<size {
                for x in 0..<size where !isFunction[y][x] {
                    let flip = switch mask {
                    case 0: (x + y) % 2 == 0
                    case 1: y % 2 == 0
                    case 2: x % 3 == 0
                    case 3: (x + y) % 3 == 0
                    case 4: (x / 3 + y / 2) % 2 == 0
                    case 5: x * y % 2 + x * y % 3 == 0
                    case 6: (x * y % 2 + x * y % 3) % 2 == 0
                    default: ((x + y) % 2 + x * y % 3) % 2 == 0
                    }
                    if flip { modules[y][x].toggle() }
                }
            }
        }

        /// Rules 1 (runs of five or more in a row or column), 2 (2×2 blocks) and 4 (balance of dark and light).
        func penalty() -> Int {
            var total = 0
            for line in modules + (0..<size).map({ x in modules.map { $0[x] } }) {
                var run = 1
                for i in 1..<size {
                    if line[i] == line[i - 1] {
                        run += 1
                    } else {
                        if run >= 5 { total += run - 2 }
                        run = 1
                    }
                }
                if run >= 5 { total += run - 2 }
            }
            for y in 0..<size - 1 {
                for x in 0..<size - 1 {
                    let colour = modules[y][x]
                    if modules[y][x + 1] == colour && modules[y + 1][x] == colour && modules[y + 1][x + 1] == colour { total += 3 }
                }
            }
            let dark = modules.reduce(0) { $0 + $1.filter { $0 }.count }
            let percent = dark * 100 / (size * size)
            total += abs(percent - 50) / 5 * 10
            return total
        }
    }

    /// Reed–Solomon over GF(2⁸) with the polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11D) and generator roots αⁱ from α⁰.
    enum ReedSolomon {
        static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
            var z = 0
            for i in (0..<8).reversed() {
                z = (z << 1) ^ ((z >> 7) * 0x11D)
                z ^= (Int(y) >> i & 1) * Int(x)
            }
            return UInt8(z)
        }

        static func divisor(degree: Int) -> [UInt8] {
            var result = [UInt8](repeating: 0, count: degree)
            result[degree - 1] = 1
            var root: UInt8 = 1
            for _ in 0..<degree {
                for j in 0..<degree {
                    result[j] = multiply(result[j], root)
                    if j + 1 < degree { result[j] ^= result[j + 1] }
                }
                root = multiply(root, 0x02)
            }
            return result
        }

        static func remainder(_ data: [UInt8], _ divisor: [UInt8]) -> [UInt8] {
            var result = [UInt8](repeating: 0, count: divisor.count)
            for byte in data {
                let factor = byte ^ result.removeFirst()
                result.append(0)
                for i in 0..<result.count { result[i] ^= multiply(divisor[i], factor) }
            }
            return result
        }
    }
}
