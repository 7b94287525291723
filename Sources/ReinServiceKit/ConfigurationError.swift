/// A configuration problem, naming the key (and line) to fix: the sidecar's
/// and the collector's loaders both report with it.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let key: String
    public let message: String
    /// 1-based line in the YAML file, when the problem is in the file.
    public let line: Int?

    public init(key: String, message: String, line: Int? = nil) {
        self.key = key
        self.message = message
        self.line = line
    }

    public var description: String {
        if let line { return "configuration: \(key) (line \(line)): \(message)" }
        return "configuration: \(key): \(message)"
    }
}
