import Foundation
import Testing
@testable import ReinTLS

struct CertificateAuthorityTests {
    @Test func createsCertificateAndPrivateKeyFiles() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.path + "/state/ca"
        let ca = try CertificateAuthority.loadOrCreate(directory: directory)
        #expect(ca.certificatePath == directory + "/ca.pem")
        #expect(ca.keyPath == directory + "/ca.key")
        #expect(try fileMode(directory) == 0o700)
        #expect(try fileMode(ca.keyPath) == 0o600)
        #expect(try fileMode(ca.certificatePath) == 0o644)
        let onDisk = try String(contentsOfFile: ca.certificatePath, encoding: .utf8)
        #expect(onDisk == ca.certificatePEM)
        #expect(ca.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        let key = try String(contentsOfFile: ca.keyPath, encoding: .utf8)
        #expect(key.hasPrefix("-----BEGIN PRIVATE KEY-----"))
    }

    @Test func reloadGivesTheSameCertificate() throws {
        let temp = try TemporaryDirectory()
        let first = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca")
        let second = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca")
        #expect(second.certificatePEM == first.certificatePEM)
        #expect(second.notAfter == first.notAfter)
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o660])
    func refusesAKeyThatOthersCanAccess(mode: Int) throws {
        let temp = try TemporaryDirectory()
        let ca = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca")
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: ca.keyPath)
        let error = #expect(throws: TLSError.self) {
            try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca")
        }
        #expect(error?.code == .insecureKeyFile)
        #expect(error?.description.contains("chmod 600 \(ca.keyPath)") == true)
    }

    @Test func refusesAGroupWritableDirectory() throws {
        let temp = try TemporaryDirectory()
        let directory = temp.path + "/ca"
        _ = try CertificateAuthority.loadOrCreate(directory: directory)
        try FileManager.default.setAttributes([.posixPermissions: 0o770], ofItemAtPath: directory)
        let error = #expect(throws: TLSError.self) { try CertificateAuthority.loadOrCreate(directory: directory) }
        #expect(error?.code == .insecureDirectory)
    }

    @Test func refusesHalfAnAuthority() throws {
        let temp = try TemporaryDirectory()
        let ca = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca")
        try FileManager.default.removeItem(atPath: ca.certificatePath)
        let error = #expect(throws: TLSError.self) {
            try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca")
        }
        #expect(error?.code == .incompleteAuthority)
        // Nothing was overwritten: the key is still there.
        #expect(FileManager.default.fileExists(atPath: ca.keyPath))
    }

    @Test func refusesAKeyThatIsNotTheCertificates() throws {
        let temp = try TemporaryDirectory()
        let ca = try CertificateAuthority.loadOrCreate(directory: temp.path + "/a")
        let other = try CertificateAuthority.loadOrCreate(directory: temp.path + "/b")
        try FileManager.default.removeItem(atPath: ca.keyPath)
        try FileManager.default.copyItem(atPath: other.keyPath, toPath: ca.keyPath)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: ca.keyPath)
        let error = #expect(throws: TLSError.self) { try CertificateAuthority.loadOrCreate(directory: temp.path + "/a") }
        #expect(error?.code == .unusableAuthority)
    }

    @Test func refusesAnExpiredAuthority() throws {
        let temp = try TemporaryDirectory()
        let sixYearsAgo = Date().addingTimeInterval(-6 * 365 * 24 * 3600)
        _ = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca", now: sixYearsAgo)
        let error = #expect(throws: TLSError.self) { try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca") }
        #expect(error?.code == .unusableAuthority)
    }

    @Test func caCertificateHasTheCAExtensions() throws {
        let temp = try TemporaryDirectory()
        let ca = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca", commonName: "Rein test CA")
        let (status, text) = try runTool("/usr/bin/openssl", ["x509", "-in", ca.certificatePath, "-noout", "-text"])
        #expect(status == 0)
        #expect(text.contains("Version: 3"))
        #expect(text.contains("Subject: CN = Rein test CA"))
        #expect(text.contains("Issuer: CN = Rein test CA"))
        #expect(text.contains("X509v3 Basic Constraints: critical"))
        #expect(text.contains("CA:TRUE, pathlen:0"))
        #expect(text.contains("X509v3 Key Usage: critical"))
        #expect(text.contains("Certificate Sign, CRL Sign"))
        #expect(text.contains("X509v3 Subject Key Identifier"))
        #expect(text.contains("ASN1 OID: prime256v1"))
        #expect(text.contains("ecdsa-with-SHA256"))
        let years = ca.notAfter.timeIntervalSinceNow / (365 * 24 * 3600)
        #expect(years > 4.9 && years < 5.1)
    }

    @Test func mintedLeafVerifiesAgainstTheCA() throws {
        let temp = try TemporaryDirectory()
        let ca = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca")
        let name = "dynamodb.us-east-1.amazonaws.com"
        let leaf = try ca.issueCertificate(forServerName: name)
        let leafPath = temp.path + "/leaf.pem"
        try leaf.certificatePEM.write(toFile: leafPath, atomically: true, encoding: .utf8)
        let verify = try runTool("/usr/bin/openssl", ["verify", "-CAfile", ca.certificatePath, "-purpose", "sslserver",
                                                      "-verify_hostname", name, leafPath])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("\(leafPath): OK"))

        let (status, text) = try runTool("/usr/bin/openssl", ["x509", "-in", leafPath, "-noout", "-text"])
        #expect(status == 0)
        #expect(text.contains("DNS:\(name)"))
        #expect(text.contains("CA:FALSE"))
        #expect(text.contains("TLS Web Server Authentication"))
        #expect(text.contains("Digital Signature"))
        #expect(text.contains("X509v3 Authority Key Identifier"))
        #expect(text.contains("ecdsa-with-SHA256"))
    }

    @Test func leafDoesNotVerifyAgainstAnotherCA() throws {
        let temp = try TemporaryDirectory()
        let ca = try CertificateAuthority.loadOrCreate(directory: temp.path + "/a")
        let other = try CertificateAuthority.loadOrCreate(directory: temp.path + "/b")
        let leafPath = temp.path + "/leaf.pem"
        try ca.issueCertificate(forServerName: "s3.amazonaws.com").certificatePEM
            .write(toFile: leafPath, atomically: true, encoding: .utf8)
        let verify = try runTool("/usr/bin/openssl", ["verify", "-CAfile", other.certificatePath, leafPath])
        #expect(verify.status != 0)
    }

    @Test func leafIsValidFromAnHourAgoForADayWithARandomSerial() throws {
        let temp = try TemporaryDirectory()
        let ca = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca")
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let first = try ca.issueCertificate(forServerName: "sts.amazonaws.com", now: now)
        let second = try ca.issueCertificate(forServerName: "sts.amazonaws.com", now: now)
        #expect(first.notBefore == now.addingTimeInterval(-3600))
        #expect(first.notAfter == now.addingTimeInterval(24 * 3600))
        var serials: [String] = []
        for (index, leaf) in [first, second].enumerated() {
            let path = temp.path + "/leaf\(index).pem"
            try leaf.certificatePEM.write(toFile: path, atomically: true, encoding: .utf8)
            serials.append(try runTool("/usr/bin/openssl", ["x509", "-in", path, "-noout", "-serial"]).output)
        }
        #expect(serials[0] != serials[1])
        #expect(serials[0].hasPrefix("serial=") && serials[0].count == "serial=".count + 32 + 1)
    }

    @Test func refusesToMintForAnInvalidName() throws {
        let temp = try TemporaryDirectory()
        let ca = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca")
        let error = #expect(throws: TLSError.self) { try ca.issueCertificate(forServerName: "evil.com,DNS:*.com") }
        #expect(error?.code == .invalidServerName)
    }

    @Test func stateDirectoryResolution() {
        #expect(CertificateAuthority.stateDirectory(explicit: "/x", environment: ["REIN_STATE_DIR": "/y"]) == "/x")
        #expect(CertificateAuthority.stateDirectory(explicit: nil, environment: ["REIN_STATE_DIR": "/y"]) == "/y")
        #expect(CertificateAuthority.stateDirectory(explicit: nil, environment: [:]) == "./.rein")
        #expect(CertificateAuthority.directory(inStateDirectory: "/var/lib/rein/") == "/var/lib/rein/ca")
    }
}
