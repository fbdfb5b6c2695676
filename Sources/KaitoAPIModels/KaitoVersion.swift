/// The version of this Kaito: what `kaito --version` prints and `GET /health` answers (`version`). Raised with every
/// release (semantic versioning: the API's paths and fields only grow within a major version).
public enum KaitoVersion {
    public static let current = "0.28.0"
}
