import Foundation
import Logging
import ReinAudit
import Testing
@testable import ReinSidecar

/// The readable copy `audit.jsonl` (``AuditMirror``) stays under its cap:
/// past it the file moves to `audit.jsonl.1` and a new one starts, so the
/// copy can never fill the disk the spool's cap was sized for.
struct AuditMirrorTests {
    static func records(_ range: ClosedRange<Int>) -> [SealedRecord] {
        range.map { n in
            let line = Array("{\"sequence\":\(n),\"pad\":\"\(String(repeating: "x", count: 80))\"}\n".utf8)
            return SealedRecord(sequence: Int64(n), recordId: "rec-\(n)", hash: "h\(n)", line: line)
        }
    }

    /// Runs `body` with the path of a copy in a new directory, removed afterwards.
    static func withCopyPath(_ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "rein-mirror-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir + "/audit.jsonl")
    }

    static func sequences(_ path: String) throws -> [Int] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.isEmpty || text.hasSuffix("\n"))
        return try text.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require(object["sequence"] as? Int)
        }
    }

    @Test func pastItsCapTheCopyMovesAsideAndANewOneStarts() throws {
        try Self.withCopyPath { path in
            let mirror = try AuditMirror(path: path, maxBytes: 1000, logger: Logger(label: "test"))
            for n in stride(from: 1, through: 100, by: 4) { mirror.append(Self.records(n...(n + 3))) }
            mirror.close()
            let current = try Self.sequences(path)
            let previous = try Self.sequences(path + ".1")
            // Each file under the cap, whole lines, and together the newest records in chain order.
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? .max <= 1000)
            #expect(try FileManager.default.attributesOfItem(atPath: path + ".1")[.size] as? Int ?? .max <= 1000)
            #expect(current.last == 100)
            #expect(previous + current == Array((previous.first ?? 0)...100))
            #expect(!previous.isEmpty && previous.count + current.count < 100)
        }
    }

    @Test func aCopyReopenedNearItsCapCountsWhatItHolds() throws {
        try Self.withCopyPath { path in
            let first = try AuditMirror(path: path, maxBytes: 1000, logger: Logger(label: "test"))
            first.append(Self.records(1...8))
            first.close()
            // After a restart the size already written counts: the next append rotates.
            let second = try AuditMirror(path: path, maxBytes: 1000, logger: Logger(label: "test"))
            second.append(Self.records(9...12))
            second.close()
            #expect(try Self.sequences(path + ".1") == Array(1...8))
            #expect(try Self.sequences(path) == Array(9...12))
        }
    }
}
