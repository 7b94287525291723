/// `GET /v1/fleet?status=…&ended=…&agent=…`: which fleet entries an answer
/// carries.
///
/// Why on the collector and not only in `rein fleet`: a Kubernetes fleet
/// gets new sidecar ids with every rollout, and ended sidecars stay in the
/// fleet until retention drops their last record (400 days by default), so
/// an unfiltered answer grows with every rollout while the sidecars a
/// person or a probe cares about stay a few. The answer's
/// `X-Rein-Fleet-Total` header still says how many there are in all.
struct FleetFilter: Sendable, Equatable {
    static let statuses = ["ok", "findings", "clock-skew", "not-ready", "silent", "stopped", "retired"]
    static let endStatuses: Set<String> = ["stopped", "retired"]

    /// nil: any status.
    var statuses: Set<String>?
    /// nil: both; false: only sidecars still serving; true: only those that stopped or were retired.
    var ended: Bool?
    var agent: String?

    init(statuses: Set<String>? = nil, ended: Bool? = nil, agent: String? = nil) {
        self.statuses = statuses
        self.ended = ended
        self.agent = agent
    }

    /// Reads the query; an unknown status or a malformed flag is a 400 that lists what is accepted.
    init(query: [String: String]) throws(CollectorAPIError) {
        if let text = query["status"], !text.isEmpty {
            let wanted = Set(text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
            if let unknown = wanted.first(where: { !Self.statuses.contains($0) }) {
                throw .badRequest("status \(unknown.debugDescription) is not one of \(Self.statuses.joined(separator: ", "))")
            }
            statuses = wanted
        }
        if let text = query["ended"], !text.isEmpty {
            guard let flag = Bool(text.lowercased()) else { throw .badRequest("ended must be true or false, not \(text.debugDescription)") }
            ended = flag
        }
        if let text = query["agent"], !text.isEmpty { agent = text }
    }

    func matches(agentId: String, status: String) -> Bool {
        if let statuses, !statuses.contains(status) { return false }
        if let ended, ended != Self.endStatuses.contains(status) { return false }
        if let agent, agent != agentId { return false }
        return true
    }
}
