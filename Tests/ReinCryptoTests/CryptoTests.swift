import Foundation
import Testing
@testable import ReinCrypto

struct CryptoTests {
    @Test func sha256KnownAnswers() {
        #expect(SHA256.hash("").hex == SHA256.emptyHex)
        #expect(SHA256.hash("abc").hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let hasher = SHA256Hasher()
        hasher.update(Array("a".utf8))
        hasher.update(Array("bc".utf8))
        #expect(hasher.finalize().hex == SHA256.hash("abc").hex)
        // The hasher resets after finalize.
        #expect(hasher.finalize().hex == SHA256.emptyHex)
    }

    @Test func hmacRFC4231Case2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        #expect(HMACSHA256.mac(key: Array("Jefe".utf8), data: "what do ya want for nothing?").hex == expected)
        let key = HMACKey(bytes: Array("Jefe".utf8))
        #expect(key.mac("what do ya want for nothing?").hex == expected)
        // Reusing the prepared key gives the same answer; two-part input equals the concatenation.
        let a = Array("what do ya ".utf8), b = Array("want for nothing?".utf8)
        let two = a.withUnsafeBytes { x in b.withUnsafeBytes { y in key.mac(x, y) } }
        #expect(two.hex == expected)
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals("abc", "abc"))
        #expect(!ConstantTime.equals("abc", "abd"))
        #expect(!ConstantTime.equals("abc", "abcd"))
        #expect(ConstantTime.equals("", ""))
    }

    @Test func hexRoundTrip() {
        #expect(Hex.encode([0x00, 0xff, 0x10]) == "00ff10")
        #expect(Hex.decode("00FF10") == [0x00, 0xff, 0x10])
        #expect(Hex.decode("0g") == nil)
        #expect(Hex.decode("abc") == nil)
        // Every byte value, against the C library's formatting.
        let all = (0...255).map { UInt8($0) }
        #expect(Hex.encode(all) == all.map { String(format: "%02x", $0) }.joined())
        #expect(Hex.decode(Hex.encode(all)) == all)
    }

    @Test func linkedAgainstOpenSSL3() {
        #expect(CryptoLibrary.versionText.hasPrefix("OpenSSL 3."))
        #expect(CryptoLibrary.versionNumber >= 0x3000_0000)
        #expect(CryptoLibrary.randomBytes(count: 32) != CryptoLibrary.randomBytes(count: 32))
    }
}
