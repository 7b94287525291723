import Foundation
import ReinCollectorClient
import Testing

/// A client built from a token file uses a rotated token from its next call
/// (a replaced Kubernetes Secret), with no restart; a file caught mid-rotation
/// leaves the token read last in use.
struct CollectorClientTokenFileTests {
    static func write(_ token: String, to path: String) throws {
        let tmp = path + ".new"
        try (token + "\n").write(toFile: tmp, atomically: false, encoding: .utf8)
        chmod(tmp, 0o600)
        guard rename(tmp, path) == 0 else { throw TestFailure("rename") }
    }

    @Test func aRotatedTokenIsUsedFromTheNextCall() async throws {
        try await withCollector { s in
            let path = s.dir + "/collector.token"
            try Self.write(CollectorTestServer.tokens["sidecar-a"]!, to: path)
            // A generous timeout: the whole suite runs at once on two cores, and this checks tokens, not speed.
            let client = try CollectorClient(baseURL: s.url, tokenFile: path, timeout: 60)
            #expect(!client.description.contains(CollectorTestServer.tokens["sidecar-a"]!))
            func fleet() async throws -> Int {
                try await offPool { try client.exchange("GET", "/v1/fleet", accept: [200, 401, 403]).status }
            }
            #expect(try await fleet() == 403, "a sidecar token may not read the fleet")
            try Self.write(CollectorTestServer.tokens["carol"]!, to: path)
            #expect(try await fleet() == 200, "the auditor's token, read again")
            // Mid-rotation: the file is gone, then empty. The token read last stays in use.
            try FileManager.default.removeItem(atPath: path)
            #expect(try await fleet() == 200)
            try "".write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o600)
            #expect(try await fleet() == 200)
            try Self.write(CollectorTestServer.tokens["sidecar-a"]!, to: path)
            #expect(try await fleet() == 403)
        }
    }

    @Test func anUnusableFileAtStartIsSaid() throws {
        let path = NSTemporaryDirectory() + "rein-token-\(UUID().uuidString)"
        defer { unlink(path) }
        try "\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o600)
        let error = #expect(throws: CollectorClientError.self) { try CollectorClient(baseURL: "http://127.0.0.1:7700", tokenFile: path) }
        #expect(error?.description.contains("empty or spans lines") == true)
    }
}
