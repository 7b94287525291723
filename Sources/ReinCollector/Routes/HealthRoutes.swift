import NIOHTTP1

/// `/healthz` (the process answers, and neither its store nor its holds
/// database has lost a write) and `/readyz` (the database answers, its and
/// the holds database's writes are still known durable, and the collector
/// is not shutting down). No authentication: orchestrators
/// probe them.
enum HealthRoutes {
    static var routes: [CollectorRoute] {
        [
            // A store that lost a sync recovers only by a restart (``WALSyncFault``): a liveness probe's job.
            CollectorRoute(.GET, "/healthz", roles: []) { call in
                if let fault = call.services.store.durabilityFault {
                    return text(.serviceUnavailable, "unhealthy: the store cannot make writes durable until restarted: \(fault)\n")
                }
                if let fault = call.services.holds?.ledger.durabilityFault {
                    return text(.serviceUnavailable, "unhealthy: the holds database refuses writes until restarted: \(fault)\n")
                }
                return text(.ok, "ok\n")
            },
            CollectorRoute(.GET, "/readyz", roles: []) { call in
                let services = call.services
                if services.recordsChanged.isClosed { return text(.serviceUnavailable, "not ready: shutting down\n") }
                if let fault = services.store.durabilityFault {
                    return text(.serviceUnavailable, "not ready: the store cannot make writes durable: \(fault)\n")
                }
                if let fault = services.holds?.ledger.durabilityFault {
                    return text(.serviceUnavailable, "not ready: the holds database refuses writes until restarted: \(fault)\n")
                }
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
