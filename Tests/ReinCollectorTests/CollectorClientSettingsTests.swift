import Foundation
import Testing
import ReinCollectorClient

/// Settings a client refuses before sending anything: they are found at
/// start-up (the sidecar exits 78), not as failures at run time.
@Suite struct CollectorClientSettingsTests {
    @Test(arguments: ["https://rein:hunter2@collector.internal:7700", "http://user@127.0.0.1:7700/"])
    func aUserOrPasswordInTheURLIsRefusedWithoutEchoingIt(url: String) {
        do {
            _ = try CollectorClient(baseURL: url, token: "tok-0123456789abcdef")
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.kind == .configuration)
            #expect(!error.description.contains("hunter2") && error.description.contains("user or password"))
        }
    }

    @Test func aMissingOrUnreadableCAFileIsRefused() throws {
        for path in ["/nonexistent/ca.pem", NSTemporaryDirectory()] {
            #expect(throws: CollectorClientError.self) {
                try CollectorClient(baseURL: "https://127.0.0.1:7700", token: "tok-0123456789abcdef", caBundlePath: path)
            }
        }
        let file = NSTemporaryDirectory() + "rein-ca-\(UUID().uuidString).pem"
        try Data("-----BEGIN CERTIFICATE-----\n".utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        _ = try CollectorClient(baseURL: "https://127.0.0.1:7700", token: "tok-0123456789abcdef", caBundlePath: file)
        // Over plain http a CA file is not used, nor checked; an empty path is unset.
        _ = try CollectorClient(baseURL: "http://127.0.0.1:7700", token: "tok-0123456789abcdef", caBundlePath: "/nonexistent/ca.pem")
        _ = try CollectorClient(baseURL: "https://127.0.0.1:7700", token: "tok-0123456789abcdef", caBundlePath: "")
        // An IPv6 literal and a path with @ after the host are not a user.
        _ = try CollectorClient(baseURL: "http://[::1]:7700/a@b", token: "tok-0123456789abcdef")
    }
}
