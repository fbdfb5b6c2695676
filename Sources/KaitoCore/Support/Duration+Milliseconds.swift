extension Duration {
    /// The duration in whole milliseconds (rounded down): what SQLite's busy timeout and PostgreSQL's timeouts take.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// The duration in seconds, as a `Double` (timers, metrics).
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
