import Foundation

/// The rules that keep an STS session inside its task: how long it may
/// last, and how the agent and task appear in STS's restricted fields.
enum SessionScope {
    /// STS's shortest and longest session (AssumeRole, AssumeRoleWithWebIdentity).
    static let minimumDuration = 900
    static let maximumDuration = 43_200

    /// `min(configured, seconds left in the task)`. A task with less than
    /// STS's minimum left fails: the session would otherwise outlive it.
    static func duration(configured: Int, now: Date, taskExpiry: Date?, provider: String) throws(BrokerError) -> Int {
        guard let taskExpiry else { return configured }
        let remaining = Int(taskExpiry.timeIntervalSince(now).rounded(.down))
        guard remaining >= minimumDuration else {
            let left = remaining <= 0 ? "has ended" : "ends in \(remaining) s"
            throw BrokerError(provider: provider, kind: .taskTooShort,
                              message: "the task \(left); STS cannot issue a session shorter than \(minimumDuration) s, and Rein never issues one that outlives its task: start a new task with a later expiry")
        }
        return min(configured, remaining)
    }

    /// RoleSessionName and SourceIdentity allow `[\w+=,.@-]`, 2 to 64 characters.
    static func identifier(_ text: String, fallback: String = "rein") -> String {
        let allowed = Set("+=,.@-_")
        let mapped = String(text.map { ($0.isASCII && ($0.isLetter || $0.isNumber)) || allowed.contains($0) ? $0 : "-" }.prefix(64))
        return mapped.count >= 2 ? mapped : fallback
    }

    /// The default session name: `rein-<agent>-<task>`, shown in CloudTrail.
    static func sessionName(agentId: String, taskId: String) -> String {
        identifier("rein-\(agentId)-\(taskId)")
    }

    /// Session tag values allow letters, digits, spaces and `_.:/=+-@`, up to 256 characters.
    static func tagValue(_ text: String) -> String {
        let allowed = Set("_.:/=+-@ ")
        return String(text.map { $0.isLetter || $0.isNumber || allowed.contains($0) ? $0 : "_" }.prefix(256))
    }

    /// A smaller character budget after `PackedPolicyTooLarge`. STS reports
    /// how far over it is ("Packed policy consumes 112% of allotted space");
    /// aim 10 % under that, else take two thirds.
    static func smallerBudget(policyCharacters: Int, stsMessage: String) -> Int {
        var target = policyCharacters * 2 / 3
        if let range = stsMessage.range(of: #"(\d+)%"#, options: .regularExpression),
           let percent = Int(stsMessage[range].dropLast()), percent > 100 {
            target = min(target, policyCharacters * 90 / percent)
        }
        return max(1, min(target, policyCharacters - 1))
    }
}
