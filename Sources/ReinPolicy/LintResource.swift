/// A statement's resource pattern, taken apart as an ARN
/// (`arn:partition:service:region:account:resource`) for the linter's
/// breadth and account checks. Not a validator: text that is no ARN is
/// simply not an ARN here.
struct LintResource: Sendable, Equatable {
    let text: String
    let service: Substring?
    let account: Substring?
    /// Everything after the fifth colon (it may itself contain colons).
    let resource: Substring?
    /// An ARN cut short by a wildcard (`arn:aws:s3:*`): the star swallows
    /// every field after it.
    private let openEnded: Bool

    init(_ text: String) {
        self.text = text
        let fields = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        if fields.count == 6, fields[0] == "arn" {
            service = fields[2]
            account = fields[4]
            resource = fields[5]
        } else {
            service = nil
            account = nil
            resource = nil
        }
        openEnded = fields.count < 6 && fields.first == "arn" && (fields.last?.contains("*") ?? false)
    }

    var isARN: Bool { resource != nil }

    /// `*`, or an ARN whose service is open or whose resource part is only
    /// wildcards and separators (`arn:aws:s3:::*`, `arn:aws:s3:::*/*`).
    var isUnbounded: Bool {
        if LintActionIndex.isAllWildcard(text) || openEnded { return true }
        guard let service, let resource else { return false }
        if LintActionIndex.hasWildcard(service) { return true }
        return resource.allSatisfy { "*?/:".contains($0) }
    }

    /// Every resource of one type: `key/*`, `table/*`, `function:*`.
    var isWholeType: Bool {
        guard let resource, let last = resource.last, last == "*" else { return false }
        let head = resource.dropLast()
        guard let sep = head.last, sep == "/" || sep == ":" else { return false }
        let type = head.dropLast()
        return !type.isEmpty && !LintActionIndex.hasWildcard(type)
    }

    /// How the ARN's account field relates to the policy's own account.
    enum AccountScope: Equatable {
        case own, none, foreign(String), open(String)
    }

    func accountScope(home: String) -> AccountScope {
        guard let account, !account.isEmpty else { return .none }
        if LintActionIndex.hasWildcard(account) { return .open(String(account)) }
        if account == home { return .own }
        if account.count == 12, account.allSatisfy(\.isASCII), account.allSatisfy(\.isNumber) {
            return .foreign(String(account))
        }
        return .none
    }
}
