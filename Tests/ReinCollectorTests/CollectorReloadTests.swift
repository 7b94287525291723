import Foundation
import Logging
import ReinCollector
import ReinServiceKit
import ReinUpstream
import Testing

/// A running collector takes new API tokens and a renewed TLS certificate
/// without a restart (`RunningCollector.reload`, SIGHUP; `CollectorTLS`).
@Suite(.serialized) struct CollectorReloadTests {
    /// A CA and a leaf for 127.0.0.1 from the openssl CLI, valid `days` days.
    struct Pair {
        let certificate: String
        let key: String
        let ca: String
    }

    static func makePair(in dir: String, name: String, days: Int) throws -> Pair {
        func run(_ args: [String]) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = args
            p.currentDirectoryURL = URL(fileURLWithPath: dir)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw TestFailure("openssl \(args.joined(separator: " ")) failed") }
        }
        try run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(name)-ca.key",
                 "-out", "\(name)-ca.pem", "-days", "\(days)", "-subj", "/CN=rein reload test CA \(name)"])
        try run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(name).key",
                 "-out", "\(name).csr", "-subj", "/CN=127.0.0.1"])
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: dir + "/ext.cnf", atomically: true, encoding: .utf8)
        try run(["x509", "-req", "-in", "\(name).csr", "-CA", "\(name)-ca.pem", "-CAkey", "\(name)-ca.key", "-CAcreateserial",
                 "-days", "\(days)", "-extfile", "ext.cnf", "-out", "\(name).pem"])
        chmod(dir + "/\(name).key", 0o600)
        return Pair(certificate: dir + "/\(name).pem", key: dir + "/\(name).key", ca: dir + "/\(name)-ca.pem")
    }

    /// Replaces `path` as a renewal does: a new file renamed over the old.
    static func install(_ source: String, at path: String, mode: mode_t = 0o600) throws {
        let tmp = path + ".new"
        try? FileManager.default.removeItem(atPath: tmp)
        try FileManager.default.copyItem(atPath: source, toPath: tmp)
        chmod(tmp, mode)
        guard rename(tmp, path) == 0 else { throw TestFailure("rename \(tmp)") }
    }

    /// Two pairs in a fresh directory (removed at deinit), the first
    /// installed as the served `tls.pem` and `tls.key`: a renewal to make.
    final class Renewal {
        let dir: String
        let first: Pair
        let second: Pair
        var cert: String { dir + "/tls.pem" }
        var key: String { dir + "/tls.key" }

        init() throws {
            dir = NSTemporaryDirectory() + "rein-tls-reload-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            first = try CollectorReloadTests.makePair(in: dir, name: "first", days: 2)
            second = try CollectorReloadTests.makePair(in: dir, name: "second", days: 30)
            try CollectorReloadTests.install(first.certificate, at: dir + "/tls.pem")
            try CollectorReloadTests.install(first.key, at: dir + "/tls.key")
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func days(_ date: Date?) -> Int {
        Int(((date ?? .distantPast).timeIntervalSinceNow / 86_400).rounded())
    }

    @Test func aRenewedCertificateIsServedAndABrokenOneIsNot() throws {
        let pairs = try Renewal()
        let (first, second, cert, key) = (pairs.first, pairs.second, pairs.cert, pairs.key)
        let tls = try CollectorTLS(certificateFile: cert, keyFile: key, logger: Logger(label: "test.tls"))
        #expect(Self.days(tls.notAfter) == 2)
        #expect(tls.reload() == .unchanged)

        // A half-done renewal: the new certificate, the old key. Not served;
        // not tried again until the files change once more.
        try Self.install(second.certificate, at: cert)
        guard case .failed(let reason) = tls.reload() else { Issue.record("a mismatched key was loaded"); return }
        #expect(reason.contains("tls:"))
        #expect(Self.days(tls.notAfter) == 2, "the working identity stays")
        #expect(tls.reload() == .unchanged)

        try Self.install(second.key, at: key)
        #expect(tls.reload() == .reloaded(notAfter: tls.notAfter))
        #expect(Self.days(tls.notAfter) == 30)

        // A key others can read is refused, whatever the certificate.
        try Self.install(first.certificate, at: cert)
        try Self.install(first.key, at: key, mode: 0o644)
        guard case .failed(let shared) = tls.reload() else { Issue.record("a world-readable key was loaded"); return }
        #expect(shared.contains("tls.key"))
        #expect(Self.days(tls.notAfter) == 30)
    }

    /// A renewal that never came is said at start and then once a day.
    @Test func aCertificateCloseToItsEndIsWarnedAboutOnceADay() throws {
        let pairs = try Renewal()
        let (short, long) = (pairs.first, pairs.second)
        let tls = try CollectorTLS(certificateFile: short.certificate, keyFile: short.key, logger: Logger(label: "test.tls"))
        let now = Date()
        let first = try #require(tls.warnIfExpiring(now: now))
        #expect(first.contains("expires in 4") || first.contains("expires in 3"), "about 47 hours: \(first)")
        #expect(tls.warnIfExpiring(now: now.addingTimeInterval(3600)) == nil, "not every minute")
        #expect(tls.warnIfExpiring(now: now.addingTimeInterval(86_400)) != nil, "again a day later")
        #expect(tls.warnIfExpiring(now: now.addingTimeInterval(5 * 86_400))?.contains("has expired") == true)
        let renewed = try CollectorTLS(certificateFile: long.certificate, keyFile: long.key, logger: Logger(label: "test.tls"))
        #expect(renewed.warnIfExpiring(now: now) == nil)
    }

    @Test func sighupTokensAndCertificateTakeEffectWithoutARestart() async throws {
        let pairs = try Renewal()
        let (first, second, cert, key) = (pairs.first, pairs.second, pairs.cert, pairs.key)
        var config = CollectorConfiguration()
        config.listen = ListenAddress(host: "127.0.0.1", port: 0)
        config.stateDir = pairs.dir + "/state"
        config.tlsCertificate = cert
        config.tlsKey = key
        config.tokens = CollectorTestServer.configuredTokens
        let running = try await CollectorLauncher.launch(config, logger: Logger(label: "test.collector"))
        let base = running.url
        func status(_ token: String, trusting ca: String) async throws -> Int {
            let request = HTTPClientRequest(url: base + "/v1/fleet",
                                            headers: [(name: "Authorization", value: "Bearer \(CollectorTestServer.tokens[token] ?? token)")])
            return try await offPool { try HTTPClient(caBundlePath: ca).send(request).status }
        }
        do {
            #expect(try await status("carol", trusting: first.ca) == 200)
            await #expect(throws: HTTPClientError.self) { _ = try await status("carol", trusting: second.ca) }

            // Carol's token is revoked, Dave's added; a new certificate from another CA.
            var next = config
            next.tokens.removeAll { $0.name == "carol" }
            next.tokens.append(CollectorToken(name: "dave", roles: [.auditor], sha256: CollectorAuthenticator.hash(token: "tok-auditor-dave-0123456789")))
            next.retention = 30 * 86_400
            try Self.install(second.certificate, at: cert)
            try Self.install(second.key, at: key)
            let outcome = await running.reload(next)
            #expect(outcome.tokens.added == ["dave"] && outcome.tokens.removed == ["carol"] && outcome.tokens.changed.isEmpty)
            #expect(outcome.tls == .reloaded(notAfter: running.server.tls?.notAfter))
            #expect(outcome.needRestart == ["retention"], "taken at the next start; the log says so")

            #expect(try await status("tok-auditor-dave-0123456789", trusting: second.ca) == 200)
            #expect(try await status("carol", trusting: second.ca) == 401)
            await #expect(throws: HTTPClientError.self) { _ = try await status("tok-auditor-dave-0123456789", trusting: first.ca) }

            // The change is in the collector's own chain, by name.
            let query = HTTPClientRequest(url: base + "/v1/audit/records?event=token-change",
                                          headers: [(name: "Authorization", value: "Bearer tok-auditor-dave-0123456789")])
            let records = try await offPool { try HTTPClient(caBundlePath: second.ca).send(query) }
            #expect(records.status == 200)
            let text = String(decoding: records.body, as: UTF8.self)
            #expect(text.contains(#""event":"token-change""#))
            #expect(text.contains("added dave; removed carol"))
            #expect(!text.contains(CollectorAuthenticator.hash(token: "tok-auditor-dave-0123456789")))

            // The same file again: no token change (no second event), and the
            // retention still waits for a restart.
            let again = await running.reload(next)
            #expect(again.tokens.isEmpty && again.needRestart == ["retention"])
        } catch {
            await running.shutdown()
            throw error
        }
        await running.shutdown()
    }

    @Test func tokenChangesAreNamedNotHashed() {
        let a = CollectorToken(name: "a", roles: [.admin], sha256: String(repeating: "a", count: 64))
        let b = CollectorToken(name: "b", roles: [.auditor], sha256: String(repeating: "b", count: 64))
        var b2 = b
        b2.roles = [.auditor, .admin]
        let c = CollectorToken(name: "c", roles: [.approver], sha256: String(repeating: "c", count: 64))
        let change = TokenChange(from: [a, b], to: [b2, c])
        #expect(change.added == ["c"] && change.removed == ["a"] && change.changed == ["b"])
        #expect(change.summary == "added c; removed a; changed b")
        #expect(TokenChange(from: [a, b], to: [b, a]).isEmpty)
    }
}
