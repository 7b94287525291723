import Foundation
import Logging
import ReinBroker
import ReinCrypto
import ReinUpstream
import Testing
@testable import ReinCollector

/// `backup.copy_to` (``BackupCopyDestination``): what is accepted, what is
/// refused with its key, where each object goes, and the alert a failed copy
/// posts. The copy itself runs against moto's S3 in
/// `Tests/interop/test_collector_backup_copy.py`.
@Suite struct BackupCopyConfigurationTests {
    static let tokens = "tokens:\n  - {name: a, roles: [admin], sha256: \(String(repeating: "ab", count: 32))}\n"
    static let keys = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"]

    static func load(_ copy: String, environment: [String: String] = keys) throws(CollectorConfigurationError) -> CollectorConfiguration {
        try CollectorConfigurationLoader.load(yaml: "state_dir: /s\nbackup:\n  dir: /b\n  copy_to:\n" + copy + tokens, environment: environment)
    }

    @Test func aFullCopyToSectionIsRead() throws {
        let c = try Self.load("""
                url: s3://evidence.example/rein//prod/
                region: eu-west-1
                endpoint_url: https://bucket.vpce-1a2b.s3.eu-west-1.vpce.amazonaws.com
                kms_key_id: arn:aws:kms:eu-west-1:111122223333:key/abcd
                part_size: 64MiB
                credentials: {provider: web_identity, role_arn: "arn:aws:iam::111122223333:role/rein-backup", token_file: /var/run/token}

            """)
        let copy = try #require(c.backupCopy)
        #expect(copy.bucket == "evidence.example" && copy.prefix == "rein/prod" && copy.region == "eu-west-1")
        #expect(copy.url == "s3://evidence.example/rein/prod/")
        #expect(copy.endpoint?.authority == "bucket.vpce-1a2b.s3.eu-west-1.vpce.amazonaws.com")
        #expect(copy.kmsKeyId == "arn:aws:kms:eu-west-1:111122223333:key/abcd" && copy.partSize == 64 << 20)
        #expect(copy.credentials.provider == .webIdentity && copy.credentials.roleArn == "arn:aws:iam::111122223333:role/rein-backup")
        #expect(copy.credentials.region == "eu-west-1")  // STS in the bucket's region
    }

    /// Without `region` and `credentials`, the environment decides, as for the AWS SDKs.
    @Test func theRegionAndCredentialsDefaultFromTheEnvironment() throws {
        let c = try Self.load("    url: s3://evidence-bucket\n", environment: Self.keys.merging(["AWS_REGION": "us-west-2"]) { $1 })
        let copy = try #require(c.backupCopy)
        #expect(copy.region == "us-west-2" && copy.prefix == "" && copy.credentials.provider == .static)
        #expect(copy.partSize == BackupCopyDestination.defaultPartSize && copy.endpoint == nil && copy.kmsKeyId == nil)
        let pick = CollectorConfigurationLoader.defaultCredentials
        #expect(pick(["AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_PROFILE": "p"]).provider == .webIdentity)
        #expect(pick(["AWS_PROFILE": "p", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2"]).provider == .profile)
        #expect(pick(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1"]).provider == .container)
        #expect(pick([:]).provider == .imds)
    }

    /// `REIN_COLLECTOR_BACKUP_COPY_TO` names the bucket and prefix, over the file's or alone.
    @Test func theEnvironmentCanNameTheDestination() throws {
        var env = Self.keys
        env["REIN_COLLECTOR_BACKUP_COPY_TO"] = "s3://other-bucket/from-env"
        let over = try Self.load("    url: s3://file-bucket/x\n    region: eu-west-1\n    kms_key_id: k\n", environment: env)
        #expect(over.backupCopy?.url == "s3://other-bucket/from-env/" && over.backupCopy?.region == "eu-west-1" && over.backupCopy?.kmsKeyId == "k")
        env["AWS_REGION"] = "ap-south-1"
        let alone = try CollectorConfigurationLoader.load(yaml: "backup: {dir: /b}\n" + Self.tokens, environment: env)
        #expect(alone.backupCopy?.url == "s3://other-bucket/from-env/" && alone.backupCopy?.region == "ap-south-1")
        #expect(alone.backupCopy?.credentials.provider == .static)
        env["REIN_COLLECTOR_BACKUP_COPY_TO"] = "https://nope"
        #expect(throws: CollectorConfigurationError.self) { _ = try Self.load("    url: s3://file-bucket\n    region: eu-west-1\n", environment: env) }
    }

    @Test(arguments: [
        ("    region: us-east-1\n", "backup.copy_to.url"),
        ("    url: https://bucket/x\n    region: us-east-1\n", "backup.copy_to.url"),
        ("    url: s3://Upper_Case\n    region: us-east-1\n", "backup.copy_to.url"),
        ("    url: s3://ab\n    region: us-east-1\n", "backup.copy_to.url"),
        ("    url: s3://bucket-a\n", "backup.copy_to.region"),
        ("    url: s3://bucket-a\n    region: 'eu west'\n", "backup.copy_to.region"),
        ("    url: s3://bucket-a\n    region: us-east-1\n    endpoint_url: http://s3.internal.example\n", "backup.copy_to.endpoint_url"),
        ("    url: s3://bucket-a\n    region: us-east-1\n    endpoint_url: ftp://x\n", "backup.copy_to.endpoint_url"),
        ("    url: s3://bucket-a\n    region: us-east-1\n    part_size: 1MiB\n", "backup.copy_to.part_size"),
        ("    url: s3://bucket-a\n    region: us-east-1\n    ca_file: /nonexistent/ca.pem\n", "backup.copy_to.ca_file"),
        ("    url: s3://bucket-a\n    region: us-east-1\n    bucket: x\n", "backup.copy_to.bucket"),
        ("    url: s3://bucket-a\n    region: us-east-1\n    credentials: {provider: password}\n", "backup.copy_to.credentials"),
        ("    url: s3://bucket-a\n    region: us-east-1\n    credentials: web_identity\n", "backup.copy_to.credentials"),
    ])
    func aWrongValueIsRefusedWithItsKey(yaml: String, key: String) {
        #expect(throws: CollectorConfigurationError.self) { _ = try Self.load(yaml, environment: Self.keys) }
        do { _ = try Self.load(yaml, environment: Self.keys) } catch { #expect(error.key == key, "\(error)") }
    }

    /// Static credentials named but not in the environment: refused at load, not at the first copy hours later.
    @Test func credentialsThatCannotBeBuiltAreRefusedAtLoad() {
        do {
            _ = try Self.load("    url: s3://bucket-a\n    region: us-east-1\n    credentials: {provider: static}\n", environment: [:])
            Issue.record("loaded without keys")
        } catch {
            #expect(error.key == "backup.copy_to.credentials")
            #expect(error.message.contains("AWS_ACCESS_KEY_ID"), "\(error.message)")
        }
    }

    /// Virtual-hosted on AWS; path style for an endpoint or a dotted bucket; each key segment encoded once.
    @Test func objectsAreAddressedAsS3Wants() throws {
        let aws = BackupCopyDestination(bucket: "evidence", prefix: "rein/a b", region: "eu-west-1", credentials: .init(provider: .imds))
        let key = aws.key(backup: "rein-backup-20261130T101500Z", file: "backup.json")
        #expect(key == "rein/a b/rein-backup-20261130T101500Z/backup.json")
        let a = aws.address(of: key)
        #expect(a.url == "https://evidence.s3.eu-west-1.amazonaws.com/rein/a%20b/rein-backup-20261130T101500Z/backup.json")
        #expect(a.host == "evidence.s3.eu-west-1.amazonaws.com" && a.path == "/rein/a%20b/rein-backup-20261130T101500Z/backup.json")
        var dotted = aws
        dotted.bucket = "evidence.example"
        #expect(dotted.address(of: "k", query: "uploads").url == "https://s3.eu-west-1.amazonaws.com/evidence.example/k?uploads")
        var china = aws
        china.region = "cn-north-1"
        #expect(china.address(of: "k").host == "evidence.s3.cn-north-1.amazonaws.com.cn")
        var local = aws
        local.endpoint = EndpointURL("http://127.0.0.1:5000/")
        #expect(local.endpoint?.authority == "127.0.0.1:5000")
        #expect(local.address(of: "k/x").url == "http://127.0.0.1:5000/evidence/k/x")
        #expect(local.address(of: "k/x").host == "127.0.0.1:5000" && local.address(of: "k/x").path == "/evidence/k/x")
        #expect(BackupCopyDestination(bucket: "b-1", prefix: "", region: "us-east-1", credentials: .init(provider: .imds)).key(backup: "r", file: "f") == "r/f")
    }

    /// The alert a failed copy posts: what failed, where to, and that the local backup is kept.
    @Test func aFailedCopyAlertSaysWhatIsKept() throws {
        let body = BackupAlertMessage.copyPayload(backup: "rein-backup-20261130T101500Z", destination: "s3://evidence/rein/",
                                                  error: "S3 PutObject of k answered HTTP 403 AccessDenied", consoleURL: "https://rein.example")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let text = try #require(json["text"] as? String)
        #expect(text.contains("rein-backup-20261130T101500Z") && text.contains("s3://evidence/rein/") && text.contains("the local backup is kept"))
        let rein = try #require(json["rein"] as? [String: Any])
        #expect(rein["alert"] as? String == "backup-copy" && rein["destination"] as? String == "s3://evidence/rein/")
        #expect(rein["error"] as? String == "S3 PutObject of k answered HTTP 403 AccessDenied")
        #expect((rein["links"] as? [String: String])?["health"] == "https://rein.example/healthz")
    }

    /// At most 10,000 parts: a larger file gets larger parts, in whole MiB.
    @Test func aFileBeyondTenThousandPartsGetsLargerParts() {
        let mib: Int64 = 1 << 20
        #expect(S3Uploader.partSize(for: 100 * mib, configured: 16 << 20) == 16 << 20)
        #expect(S3Uploader.partSize(for: 160_000 * mib, configured: 16 << 20) == 16 << 20)
        let larger = S3Uploader.partSize(for: 160_000 * mib + 1, configured: 16 << 20)
        #expect(larger == 17 << 20)
        #expect((160_000 * mib + 1 + Int64(larger) - 1) / Int64(larger) <= 10_000)
    }

    /// A manifest fetched from a bucket names files; only plain names in the download directory are taken.
    @Test func onlyPlainFileNamesAreFetched() {
        for name in ["collector.sqlite", "holds.sqlite", "collector-signing.key", ".hidden"] { #expect(BackupFetch.isPlainName(name), "\(name)") }
        for name in ["", ".", "..", "../x", "a/b", "/etc/passwd", "x\0y", String(repeating: "n", count: 256)] {
            #expect(!BackupFetch.isPlainName(name), "\(name.debugDescription)")
        }
    }

    /// Retries of one backup's copy alert once; the next backup's failure alerts again.
    @Test func aFailingCopyAlertsOncePerBackup() {
        let latch = AlertLatch()
        #expect(latch.firstFailure(of: "rein-backup-1"))
        #expect(!latch.firstFailure(of: "rein-backup-1"))
        #expect(!latch.firstFailure(of: "rein-backup-1"))
        #expect(latch.firstFailure(of: "rein-backup-2"))
    }

    @Test func refusalsCarryAHintForTheUsualMistakes() {
        let denied = BackupCopyError.refused(key: "k", operation: "PutObject", status: 403, code: "AccessDenied", message: "Access Denied", requestId: "R1")
        #expect(denied.description.contains("s3:PutObject") && denied.description.contains("request id R1"))
        let reading = BackupCopyError.refused(key: "k", operation: "GetObject", status: 403, code: "AccessDenied", message: "Access Denied", requestId: nil)
        #expect(reading.description.contains("s3:GetObject") && !reading.description.contains("s3:PutObject"))
        let region = BackupCopyError.refused(key: "k", operation: "PutObject", status: 301, code: "PermanentRedirect", message: "m", requestId: nil)
        #expect(region.description.contains("backup.copy_to.region"))
    }
}

/// A copy stopped by the collector's shutdown sends nothing more and leaves
/// no receipt, so the next start copies the backup again.
@Suite struct BackupCopyStopTests {
    @Test func aStoppedCopySendsNoRequestAndWritesNoReceipt() throws {
        let dir = NSTemporaryDirectory() + "rein-copy-stop-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let body = Array("not a database".utf8)
        try Data(body).write(to: URL(fileURLWithPath: dir + "/collector.sqlite"))
        let manifest = """
            {"kind":"\(CollectorBackupManifest.currentKind)","created":"2026-11-30T10:15:00.000Z","rein_version":"test","state_dir":"/s",
             "files":[{"name":"collector.sqlite","role":"store","bytes":\(body.count),"sha256":"\(SHA256.hash(body).hex)"}],
             "contents":{"records":0,"sidecars":0,"findings":0,"policy_versions":0,"latest_cursor":0}}
            """
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: dir + "/backup.json"))
        // Port 9 on loopback: a request sent there would fail as transport, not as stopped.
        var destination = BackupCopyDestination(bucket: "bucket-a", prefix: "p", region: "us-east-1",
                                                credentials: BrokerConfiguration(provider: .static))
        destination.endpoint = EndpointURL("http://127.0.0.1:9")
        let http = HTTPClient()
        let source = try BackupCopy.credentialSource(for: destination, environment: ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"],
                                                     http: http, logger: Logger(label: "test"))
        #expect(throws: BackupCopyError.stopped) {
            _ = try BackupCopy.run(dir, to: destination, credentials: source, http: http, shouldStop: { true }) { _ in }
        }
        #expect(BackupCopy.receipt(in: dir, for: destination) == nil)
        // Not stopped, the same copy reaches the network (and fails there): the flag alone made the difference.
        do {
            _ = try BackupCopy.run(dir, to: destination, credentials: source, http: http) { _ in }
            Issue.record("a copy to a closed port succeeded")
        } catch {
            guard case .transport = error else { Issue.record("expected a transport failure, got \(error)"); return }
        }
    }
}
