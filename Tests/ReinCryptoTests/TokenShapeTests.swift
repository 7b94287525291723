import Testing
@testable import ReinCrypto

/// The one rule errors and logs use to tell a token from a name.
@Suite struct TokenShapeTests {
    @Test func randomTokensAreTokenLikeAndNamesAreNot() {
        for token in ["3f9a1c0b7e5d4a2f8c6b1e0d9a7f5c3b", "rein_9fQ2xLk3Vb7Tz1Wm4Hc8Np6Rd0Sy5Ue",
                      "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlMTIz"] {
            #expect(TokenShape.isTokenLike(token), "\(token)")
        }
        for name in ["rein-collector-sidecar-token", "arn:aws:iam::123456789012:role/AgentBroker",
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "3f9a1c0b7e5d4a2f8c6b1e0d9a7f5c3", "token with spaces and Digits 0123456789"] {
            #expect(!TokenShape.isTokenLike(name), "\(name)")
        }
    }
}
