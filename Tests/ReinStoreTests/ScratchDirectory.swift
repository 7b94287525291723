import Foundation

/// Runs `body` with a new empty directory under the system's temporary
/// directory (named `prefix` plus a UUID) and removes it afterwards: for
/// tests that need files of their own.
func withScratchDirectory<R>(_ prefix: String, _ body: (String) throws -> R) throws -> R {
    let dir = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}
