/// One page of a list, with the cursor of the next page when there is one.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }


    /// Builds a page from `limit + 1` fetched rows: the extra row only tells whether another page exists.
    public static func from(_ rows: [Item], limit: Int, cursor: (Item) -> String) -> Page {
        guard rows.count > limit else { return Page(items: rows, nextCursor: nil) }
        let items = Array(rows.prefix(limit))
        return Page(items: items, nextCursor: items.last.map(cursor))
    }
}

/// List limits of docs/api.md#pagination.
public enum PageLimits {
    public static let range = 1...200
    public static let defaultLimit = 50
}
