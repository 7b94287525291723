import Foundation
import ReinCrypto
import Testing
@testable import ReinSidecar

struct AuditSigningKeyTests {
    func tempPath() throws -> String {
        let dir = NSTemporaryDirectory() + "rein-key-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/audit-signing.key"
    }

    @Test func isCreatedPrivateOnFirstStartAndReloadedAfter() throws {
        let path = try tempPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let first = try AuditSigningKey.loadOrCreate(path: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(text.count == 64 && Hex.decode(text) == first.rawRepresentation)
        let again = try AuditSigningKey.loadOrCreate(path: path)
        #expect(again.publicKey == first.publicKey)
    }

    @Test func aDamagedKeyFileStopsTheStart() throws {
        let path = try tempPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        try "not a key\n".write(toFile: path, atomically: true, encoding: .utf8)
        // Others could read it: refused before its contents are looked at.
        do {
            _ = try AuditSigningKey.loadOrCreate(path: path)
            Issue.record("a key file others can read was used")
        } catch {
            #expect(error.message.contains(path) && error.message.contains("readable by group or others"))
        }
        #expect(chmod(path, 0o600) == 0)
        #expect(throws: SidecarStartError.self) { try AuditSigningKey.loadOrCreate(path: path) }
        do {
            _ = try AuditSigningKey.loadOrCreate(path: path)
        } catch {
            #expect(error.message.contains(path) && error.message.contains("64 hex"))
        }
    }
}
