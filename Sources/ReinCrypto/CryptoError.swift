/// A crypto operation the library refused.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public init(operation: String) { self.operation = operation }
    public var description: String { "OpenSSL failed: \(operation)" }
}
