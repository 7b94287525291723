import Foundation
import ReinCrypto
import Testing
@testable import ReinAudit

@Suite struct AuditCheckpointTests {
    @Test func ed25519SignsAndVerifiesAndRejectsTampering() throws {
        let key = try Ed25519PrivateKey()
        let sig = try key.signature(for: Array("hello".utf8))
        #expect(sig.count == 64)
        #expect(key.publicKey.isValidSignature(sig, for: Array("hello".utf8)))
        #expect(!key.publicKey.isValidSignature(sig, for: Array("hellp".utf8)))
        let other = try Ed25519PrivateKey()
        #expect(!other.publicKey.isValidSignature(sig, for: Array("hello".utf8)))
        let reloaded = try Ed25519PrivateKey(rawRepresentation: key.rawRepresentation)
        #expect(reloaded.publicKey == key.publicKey)
        #expect(!"\(key)".contains(Hex.encode(key.rawRepresentation)))
    }

    @Test func rfc8032TestVector1() throws {
        // RFC 8032 §7.1, TEST 1 (empty message).
        let seed = Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!
        let key = try Ed25519PrivateKey(rawRepresentation: seed)
        #expect(key.publicKey.description == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let sig = try key.signature(for: [UInt8]())
        #expect(Hex.encode(sig) == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    }

    @Test func checkpointsVerifyAgainstTheRegisteredKeyAndTheStoredHash() throws {
        let key = try Ed25519PrivateKey()
        let records = try sealedChain(5)
        let cp = try AuditCheckpoint.sign(sidecarId: "sc-1", sequence: 5, hash: records[4].hash, time: "2026-11-29T00:00:05.000Z", key: key)
        let v = ChainVerifier(sidecarId: "sc-1")
        let registered = Ed25519PublicKeyHex(hex: key.publicKey.description)
        #expect(v.check(cp, registeredKey: registered, storedHash: records[4].hash).isEmpty)
        // Rewritten history: the stored record 5 has another hash.
        #expect(v.check(cp, registeredKey: registered, storedHash: records[3].hash).map(\.kind) == [.checkpointMismatch])
        // A forged signature.
        var bad = cp
        bad.hash = records[3].hash
        #expect(v.check(bad, registeredKey: registered, storedHash: records[3].hash).map(\.kind) == [.badSignature])
        // Signed by a key that is not the registered one.
        let rogue = try AuditCheckpoint.sign(sidecarId: "sc-1", sequence: 5, hash: records[4].hash, time: cp.time, key: try Ed25519PrivateKey())
        #expect(v.check(rogue, registeredKey: registered, storedHash: records[4].hash).map(\.kind) == [.unknownKey])
        #expect(v.check(cp, registeredKey: nil, storedHash: nil).map(\.kind) == [.unknownKey])
        // The JSON line round-trips.
        let decoded = try JSONDecoder().decode(AuditCheckpoint.self, from: Data(try cp.jsonLine()))
        #expect(decoded == cp)
    }
}
