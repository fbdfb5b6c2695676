import Foundation
import KaitoCore

/// The small charts of the tokens and keys pages: code fetches and denials per hour over the last 24 hours, drawn
/// on the server as SVG (no script), with the totals in words beside them for screen readers and small screens.
extension HTML {
    /// Hours a chart spans, ending with the current one.
    static let chartHours = 24

    /// A chart of `counts` (already narrowed to one token or one key) for the 24 hours up to `now`.
    static func activityChart(_ counts: [ActivityCount], now: Date, what: String) -> String {
        let last = Int((now.timeIntervalSince1970 / 3600).rounded(.down))
        var fetched = [Int](repeating: 0, count: chartHours), denied = [Int](repeating: 0, count: chartHours)
        for count in counts {
            let index = count.hour - (last - chartHours + 1)
            guard (0..<chartHours).contains(index) else { continue }
            if count.denied { denied[index] += count.count } else { fetched[index] += count.count }
        }
        let (totalFetched, totalDenied) = (fetched.reduce(0, +), denied.reduce(0, +))
        let summary = "\(totalFetched) code fetch\(totalFetched == 1 ? "" : "es"), \(totalDenied) denied in 24 h"
        struct Rect { let x: Int, y: String, height: String }
        struct Bar { let title: String, ok: Rect?, denied: Rect? }
        struct Chart { let width: Int, label: String, bars: [Bar], summary: String }
        let peak = max(1, zip(fetched, denied).map { $0 + $1 }.max() ?? 1)
        let (height, bar) = (24.0, 5)
        var bars: [Bar] = []
        for index in 0..<chartHours where fetched[index] + denied[index] > 0 {
            let x = index * bar
            let okHeight = height * Double(fetched[index]) / Double(peak)
            let deniedHeight = height * Double(denied[index]) / Double(peak)
            let hour = String(format: "%02d:00 UTC", (last - chartHours + 1 + index) % 24)
            bars.append(Bar(
                title: "\(hour): \(fetched[index]) fetched, \(denied[index]) denied",
                ok: fetched[index] > 0 ? Rect(x: x, y: format(height - okHeight), height: format(okHeight)) : nil,
                denied: denied[index] > 0 ? Rect(x: x, y: format(height - okHeight - deniedHeight), height: format(deniedHeight)) : nil))
        }
        return Templates.render("activity_chart", Chart(width: chartHours * bar, label: what + ": " + summary, bars: bars, summary: summary))
    }

    private static func format(_ value: Double) -> String { String(format: "%.1f", value) }
}
