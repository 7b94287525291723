import NIOHTTP1

/// `/healthz` (the process answers) and `/readyz` (the database answers and
/// the collector is not shutting down). No authentication: orchestrators
/// probe them.
enum HealthRoutes {
    static var routes: [CollectorRoute] {
        [
            CollectorRoute(.GET, "/healthz", roles: []) { _ in text(.ok, "ok\n") },
            CollectorRoute(.GET, "/readyz", roles: []) { call in
                let services = call.services
                if services.recordsChanged.isClosed { return text(.serviceUnavailable, "not ready: shutting down\n") }
                do {
                    _ = try await services.blocking { [store = services.store] in try store.latestCursor() }
                    return text(.ok, "ready\n")
                } catch {
                    return text(.serviceUnavailable, "not ready: the database does not answer: \(error)\n")
                }
            },
        ]
    }

    static func text(_ status: NIOHTTP1.HTTPResponseStatus, _ body: String) -> CollectorResponse {
        CollectorResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array(body.utf8))
    }
}
