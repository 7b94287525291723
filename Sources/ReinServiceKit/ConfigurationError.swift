import Foundation

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

extension ConfigurationError {
    /// The text of a service's configuration file, or nil when none is given;
    /// a file that cannot be read is a configuration problem like any other
    /// (exit 78), named as the file.
    public static func readFile(_ path: String?) throws(ConfigurationError) -> String? {
        guard let path else { return nil }
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigurationError(key: "(file)", message: "cannot read the configuration file \(path): \(error.localizedDescription)")
        }
    }
}
