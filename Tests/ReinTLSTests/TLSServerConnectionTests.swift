import CReinOpenSSL
import Foundation
import Testing
@testable import ReinTLS

struct TLSServerConnectionTests {
    static let name = "dynamodb.us-east-1.amazonaws.com"

    /// A CA, a context that allows `allowed`, and the temporary directory holding the CA.
    private func makeServer(allowed: Set<String> = [name]) throws -> (TLSServerContext, CertificateAuthority, TemporaryDirectory) {
        let temp = try TemporaryDirectory()
        let ca = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca")
        let context = try TLSServerContext(certificates: LeafCertificateCache(authority: ca)) { allowed.contains($0) }
        return (context, ca, temp)
    }

    @Test(arguments: [(TLS1_3_VERSION, "TLSv1.3"), (TLS1_2_VERSION, "TLSv1.2")])
    func roundTripsDataAndCloseNotify(version: Int32, expected: String) throws {
        let (context, ca, _) = try makeServer()
        let server = try context.makeConnection()
        let client = try TestTLSClient(caPEM: ca.certificatePEM, serverName: Self.name,
                                       minVersion: version, maxVersion: version, alpn: ["h2", "http/1.1"])
        let handshake = pump(client, server)
        #expect(handshake.serverError == nil)
        #expect(client.isHandshakeComplete && server.isHandshakeComplete)
        #expect(client.verifyResult == Int(X509_V_OK))
        #expect(client.protocolVersion == expected)
        #expect(server.negotiatedProtocolVersion == expected)
        #expect(server.negotiatedServerName == Self.name)
        #expect(server.negotiatedApplicationProtocol == "http/1.1")

        // client → server
        let request = Array("GET / HTTP/1.1\r\nHost: \(Self.name)\r\n\r\n".utf8)
        #expect(client.write(request))
        server.feed(ciphertext: client.drain())
        var received: [UInt8] = []
        while case .data(let bytes) = try server.readPlaintext() { received += bytes }
        #expect(received == request)

        // server → client, large enough to span many records
        let response = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try server.write(plaintext: response)
        client.feed(server.drainCiphertext())
        #expect(client.read().data == response)

        // close_notify both ways
        server.shutdown()
        client.feed(server.drainCiphertext())
        #expect(client.read().closed)
        #expect(SSL_shutdown(client.ssl) >= 0)
        server.feed(ciphertext: client.drain())
        #expect(try server.readPlaintext() == .closed)
        #expect(server.isInputClosed)
        #expect(throws: TLSError.self) { try server.write(plaintext: [1]) }
    }

    @Test func refusesTLS11() throws {
        let (context, ca, _) = try makeServer()
        let server = try context.makeConnection()
        let client = try TestTLSClient(caPEM: ca.certificatePEM, serverName: Self.name,
                                       minVersion: TLS1_1_VERSION, maxVersion: TLS1_1_VERSION)
        let result = pump(client, server)
        #expect(result.serverError?.code == .handshakeFailed)
        #expect(result.serverError?.openSSLErrors?.contains("unsupported protocol") == true)
        #expect(!client.isHandshakeComplete)
        #expect(!server.isHandshakeComplete)
        #expect(client.errors().contains("protocol version"))
    }

    @Test func refusesANameThePredicateRejects() throws {
        let (context, ca, _) = try makeServer()
        let server = try context.makeConnection()
        let client = try TestTLSClient(caPEM: ca.certificatePEM, serverName: "evil.example.com")
        let result = pump(client, server)
        #expect(result.serverError?.code == .serverNameRefused)
        #expect(result.serverError?.description.contains("evil.example.com") == true)
        #expect(server.negotiatedServerName == nil)
        #expect(!client.isHandshakeComplete)
        #expect(client.errors().contains("unrecognized name"))
    }

    @Test func refusesAClientWithoutSNI() throws {
        let (context, ca, _) = try makeServer()
        let server = try context.makeConnection()
        let client = try TestTLSClient(caPEM: ca.certificatePEM, serverName: nil)
        let result = pump(client, server)
        #expect(result.serverError?.code == .missingServerName)
        #expect(!client.isHandshakeComplete)
        #expect(client.errors().contains("unrecognized name"))
    }

    @Test func refusesAClientThatOffersOnlyOtherProtocols() throws {
        let (context, ca, _) = try makeServer()
        let server = try context.makeConnection()
        let client = try TestTLSClient(caPEM: ca.certificatePEM, serverName: Self.name, alpn: ["h2"])
        let result = pump(client, server)
        #expect(result.serverError?.code == .handshakeFailed)
        #expect(client.errors().contains("no application protocol"))
    }

    @Test func clientWithoutALPNStillConnects() throws {
        let (context, ca, _) = try makeServer()
        let server = try context.makeConnection()
        let client = try TestTLSClient(caPEM: ca.certificatePEM, serverName: Self.name)
        #expect(pump(client, server).serverError == nil)
        #expect(server.isHandshakeComplete)
        #expect(server.negotiatedApplicationProtocol == nil)
    }

    @Test func refusesRenegotiation() throws {
        let (context, ca, _) = try makeServer()
        let server = try context.makeConnection()
        let client = try TestTLSClient(caPEM: ca.certificatePEM, serverName: Self.name,
                                       minVersion: TLS1_2_VERSION, maxVersion: TLS1_2_VERSION)
        #expect(pump(client, server).serverError == nil)
        #expect(CReinOpenSSL_ssl_renegotiate(client.ssl) == 1)
        _ = client.handshake()
        server.feed(ciphertext: client.drain())
        var serverOutcome: TLSServerConnection.ReadResult?
        var serverError: TLSError?
        do { serverOutcome = try server.readPlaintext() } catch { serverError = error }
        client.feed(server.drainCiphertext())
        let clientOutcome = client.read()
        // The server does not renegotiate: it answers with a no_renegotiation alert
        // (or a fatal one), and the client's renegotiation fails.
        #expect(serverOutcome == .wantMoreInput || serverError != nil)
        #expect(clientOutcome.error == SSL_ERROR_SSL)
        #expect(client.errors().contains("renegotiation"))
    }

    @Test func plainHTTPFailsTheHandshake() throws {
        let (context, _, _) = try makeServer()
        let server = try context.makeConnection()
        server.feed(ciphertext: Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let error = #expect(throws: TLSError.self) { try server.readPlaintext() }
        #expect(error?.code == .handshakeFailed)
        #expect(error?.openSSLErrors?.contains("http request") == true)
        // The connection stays failed.
        #expect(throws: TLSError.self) { try server.readPlaintext() }
    }

    @Test func malformedClientHelloFailsWithAnAlert() throws {
        let (context, _, _) = try makeServer()
        let server = try context.makeConnection()
        // A handshake record holding a ClientHello whose body is one junk byte.
        server.feed(ciphertext: [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])
        let error = #expect(throws: TLSError.self) { try server.readPlaintext() }
        #expect(error?.code == .handshakeFailed)
        let alert = server.drainCiphertext()
        #expect(alert.first == 0x15)  // an alert record
        #expect(alert.count == 7 && alert[5] == 2)  // fatal
    }

    @Test func writingBeforeTheHandshakeIsRefused() throws {
        let (context, _, _) = try makeServer()
        let server = try context.makeConnection()
        let error = #expect(throws: TLSError.self) { try server.write(plaintext: [1, 2, 3]) }
        #expect(error?.code == .notWritable)
        #expect(server.drainCiphertext().isEmpty)
    }
}
