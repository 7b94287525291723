import Foundation
import Testing
import ReinCollectorClient

/// The client's own set-up mistakes say what to fix and never read as a
/// collector's refusal: nothing was sent.
@Suite struct CollectorClientConfigurationTests {
    private func scratchFile(_ contents: String, mode: mode_t) throws -> String {
        let path = NSTemporaryDirectory() + "rein-client-token-\(UUID().uuidString)"
        try contents.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(chmod(path, mode) == 0)
        return path
    }

    @Test func aTokenFileOthersCanReadIsRefusedLocally() throws {
        let path = try scratchFile("secret-token-value\n", mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try CollectorClient.token(fromFile: path)
            Issue.record("a world-readable token file was accepted")
        } catch {
            #expect(error.kind == .configuration)
            #expect(!error.retryable)
            #expect(error.description.hasPrefix("the collector token file: \(path) is readable by group or others (mode 0644)"))
            #expect(!error.description.contains("rejected"))
            #expect(!error.description.contains("secret-token-value"))
        }
        #expect(chmod(path, 0o600) == 0)
        #expect(try CollectorClient.token(fromFile: path) == "secret-token-value")
        // A Kubernetes Secret volume for a non-root sidecar: root:fsGroup 0440.
        if getuid() == 0 {
            #expect(chown(path, 0, 65532) == 0 && chmod(path, 0o440) == 0)
            #expect(try CollectorClient.token(fromFile: path) == "secret-token-value")
            // The same mode on a file a user made is refused.
            #expect(chown(path, 65534, 65532) == 0)
            #expect(throws: CollectorClientError.self) { try CollectorClient.token(fromFile: path) }
        }
    }

    @Test func aMissingTokenFileABadURLAndAnEmptyTokenAreConfigurationErrors() throws {
        let missing = NSTemporaryDirectory() + "rein-client-token-missing-\(UUID().uuidString)"
        do {
            _ = try CollectorClient.token(fromFile: missing)
            Issue.record("a missing token file was accepted")
        } catch {
            #expect(error.kind == .configuration)
            #expect(error.description == "cannot read the collector token file \(missing): no such file")
        }
        // A directory is said to be one, not "readable by others".
        do {
            _ = try CollectorClient.token(fromFile: NSTemporaryDirectory())
            Issue.record("a directory was accepted as the token file")
        } catch {
            #expect(error.description.hasSuffix("is not a regular file or a pipe"))
        }
        do {
            _ = try CollectorClient(baseURL: "collector.internal:7700", token: "t")
            Issue.record("a URL without a scheme was accepted")
        } catch {
            #expect(error.kind == .configuration)
            #expect(error.description.hasPrefix("the collector URL must start with http:// or https://"))
        }
        do {
            _ = try CollectorClient(baseURL: "http://127.0.0.1:7700", token: " \n")
            Issue.record("an empty token was accepted")
        } catch {
            #expect(error.kind == .configuration)
        }
    }

    @Test func aCollectorsOwnRefusalStillSaysSo() {
        let refused = CollectorClientError(kind: .rejected, status: 422, message: "POST /v1/policies/a: lint errors")
        #expect(refused.description == "collector rejected the request (HTTP 422): POST /v1/policies/a: lint errors")
        let denied = CollectorClientError(kind: .accessDenied, status: 403, message: "GET /v1/fleet: AccessDenied: token sc lacks the role auditor")
        #expect(denied.description == "collector denied access (HTTP 403): GET /v1/fleet: AccessDenied: token sc lacks the role auditor")
    }
}
