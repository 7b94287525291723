import ReinPolicy
extension BrokerConfiguration {
    /// Checks the configuration's shape at start-up: required keys present,
    /// no key that the chosen provider would ignore, values in range. Errors
    /// name the key by its full path, e.g. `broker.source.role_arn`.
    public func validate(path: String = "broker") throws(BrokerError) {
        func fail(_ message: String) -> BrokerError { .configuration("broker", message) }
        let set: [(CodingKeys, Bool)] = [
            (.envPrefix, envPrefix != nil), (.profile, profile != nil), (.roleArn, roleArn != nil),
            (.externalId, externalId != nil), (.sessionName, sessionName != nil), (.region, region != nil),
            (.stsEndpoint, stsEndpoint != nil), (.durationSeconds, durationSeconds != nil), (.tagSession, tagSession != nil),
            (.setSourceIdentity, setSourceIdentity != nil), (.sourceBox, source != nil), (.tokenFile, tokenFile != nil),
            (.imdsEndpoint, imdsEndpoint != nil), (.timeoutSeconds, timeoutSeconds != nil),
            (.refreshBeforeSeconds, refreshBeforeSeconds != nil),
        ]
        let allowed = Self.keys(for: provider).union(path == "broker" ? [.refreshBeforeSeconds] : [])
        if let (key, _) = set.first(where: { $0.1 && !allowed.contains($0.0) }) {
            let reason = key == .refreshBeforeSeconds ? "it applies to the top-level broker only" : "provider \(provider.rawValue) does not use it"
            throw fail("\(path).\(key.stringValue) has no effect here: \(reason)")
        }
        if provider == .assumeRole {
            guard roleArn != nil else { throw fail("\(path).role_arn is required for provider assume_role") }
            guard let source else {
                throw fail("\(path).source is required for provider assume_role: the provider whose credentials call AssumeRole")
            }
            try source.validate(path: path + ".source")
        }
        if let roleArn, !roleArn.hasPrefix("arn:") {
            // A value not even starting like an ARN may be a secret pasted into the wrong key.
            let shown = roleArn.hasPrefix("arn:") ? roleArn.debugDescription : ConfigText.quoted(roleArn)
            throw fail("\(path).role_arn \(shown) is not an ARN (arn:aws:iam::ACCOUNT:role/NAME)")
        }
        if let durationSeconds, !(SessionScope.minimumDuration...SessionScope.maximumDuration).contains(durationSeconds) {
            throw fail("\(path).duration_seconds \(durationSeconds) is outside STS's range 900...43200")
        }
        if let timeoutSeconds, !(timeoutSeconds > 0 && timeoutSeconds <= 120) {
            throw fail("\(path).timeout_seconds \(timeoutSeconds) must be in (0, 120]")
        }
        if let refreshBeforeSeconds, !(0...3600).contains(refreshBeforeSeconds) {
            throw fail("\(path).refresh_before_seconds \(refreshBeforeSeconds) must be in 0...3600")
        }
        if let externalId, !(2...1224).contains(externalId.count) {
            throw fail("\(path).external_id must have 2 to 1224 characters")
        }
        if let sessionName, sessionName.isEmpty || sessionName.count > 64 {
            throw fail("\(path).session_name must have 1 to 64 characters")
        }
    }

    static func keys(for provider: Provider) -> Set<CodingKeys> {
        switch provider {
        case .static: return [.envPrefix]
        case .profile: return [.profile]
        case .assumeRole:
            return [.roleArn, .sourceBox, .externalId, .sessionName, .region, .stsEndpoint, .durationSeconds,
                    .tagSession, .setSourceIdentity, .timeoutSeconds]
        case .webIdentity: return [.roleArn, .tokenFile, .sessionName, .region, .stsEndpoint, .durationSeconds, .timeoutSeconds]
        case .container: return [.timeoutSeconds]
        case .imds: return [.imdsEndpoint, .timeoutSeconds]
        }
    }
}
