/// Whether a run of text looks like a secret token, for the messages that
/// must not repeat one.
///
/// Why one rule: errors and logs describe what they cannot verify (a reply
/// another service echoed, a file name that may be the token itself), and
/// the modules that write them should agree on what a token looks like.
/// Random tokens mix upper case, lower case and digits (base64, JWTs) or are
/// all hex (`openssl rand -hex`); ARNs, role paths, request ids and file
/// names keep their separators or their one case.
public enum TokenShape {
    /// The least length that counts: shorter runs are words, ids and names.
    public static let minimumLength = 32

    /// True for 32 or more characters of letters, digits and `+/=_.-` that
    /// mix upper case, lower case and digits, or are all hex digits.
    public static func isTokenLike<S: StringProtocol>(_ run: S) -> Bool {
        guard run.count >= minimumLength, run.allSatisfy(isTokenCharacter) else { return false }
        let mixed = run.contains(where: \.isUppercase) && run.contains(where: \.isLowercase) && run.contains(where: \.isNumber)
        return mixed || run.allSatisfy(\.isHexDigit)
    }

    /// A character a token may hold.
    public static func isTokenCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || "+/=_.-".contains(c))
    }
}
