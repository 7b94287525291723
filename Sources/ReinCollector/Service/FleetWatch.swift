import Foundation
import Logging
import ReinStore

/// Tells operators when a sidecar goes silent and when it reports again,
/// and when its clock moves off the collector's by more than
/// `fleet.max_clock_skew` and back: a warning in the log and, with
/// `alerts.webhook_url`, a message there (``FleetAlertMessage``).
///
/// Why: a sidecar that stops reporting is a security signal, not only an
/// operations one. Its agent may be running without Rein, or its audit
/// trail may be piling up unseen. The fleet view (`rein fleet`) shows the
/// state to whoever looks; this makes the change itself reach someone.
///
/// It judges only after the collector has been up for `fleet.silent_after`:
/// a collector that was down has stale last-seen times for everyone until
/// the sidecars' next heartbeats, and that is not their silence.
final class FleetWatch: Sendable {
    /// Sidecars whose state changed in one look.
    struct Transitions: Equatable {
        var wentSilent: [SidecarEntry] = []
        var reportingAgain: [SidecarEntry] = []
        /// Reporting sidecars whose clock moved off the collector's, and back.
        var clockOff: [SidecarEntry] = []
        var clockBack: [SidecarEntry] = []
        /// The silent and the clock-skewed sidecars now, for the next look.
        var silent: Set<String> = []
        var skewed: Set<String> = []

        var isEmpty: Bool { wentSilent.isEmpty && reportingAgain.isEmpty && clockOff.isEmpty && clockBack.isEmpty }
    }

    private let task: Task<Void, Never>

    init(services: CollectorServices) {
        let silentAfter = services.configuration.silentAfter
        let maxClockSkew = services.configuration.maxClockSkew
        // Four looks per silence window, at most every 30 s, at least every 0.5 s.
        let period = Duration.milliseconds(min(30_000, max(500, silentAfter * 1000 / 4)))
        task = Task {
            do { try await Task.sleep(for: .seconds(silentAfter)) } catch { return }
            var previous = Transitions()
            while !Task.isCancelled {
                do {
                    let entries = try await services.blocking { [store = services.store] in try store.sidecars() }
                    let changes = Self.look(entries, previous: previous, now: services.nowMillis, silentAfter: silentAfter,
                                            maxClockSkew: maxClockSkew)
                    previous = changes
                    if !changes.isEmpty { Self.tell(changes, services: services) }
                } catch {
                    services.logger.error("fleet watch could not read the sidecars", metadata: ["error": "\(error)"])
                }
                do { try await Task.sleep(for: period) } catch { return }
            }
        }
    }

    func stop() { task.cancel() }

    /// Which sidecars went silent or report again, and whose clock moved
    /// off or back, since the `previous` look (the collector's own chain is
    /// not a sidecar). A silent sidecar's clock is not judged: its last
    /// heartbeat is old news. One that ended (stopped cleanly, or retired)
    /// is neither silent nor judged.
    static func look(_ entries: [SidecarEntry], previous: Transitions, now: Int64, silentAfter: Int64, maxClockSkew: Int64) -> Transitions {
        var t = Transitions()
        for entry in entries where entry.sidecarId != CollectorAuditTrail.sidecarId {
            let id = entry.sidecarId
            let isSilent = entry.isSilent(now: now, silentAfter: silentAfter)
            let wasSilent = previous.silent.contains(id)
            if isSilent { t.silent.insert(id) }
            if isSilent, !wasSilent { t.wentSilent.append(entry) }
            // A silent sidecar an admin then retired did not report: it ended.
            if !isSilent, wasSilent, entry.end == nil { t.reportingAgain.append(entry) }
            let isSkewed = !isSilent && entry.end == nil && entry.isClockSkewed(beyond: maxClockSkew)
            let wasSkewed = previous.skewed.contains(id)
            if isSkewed { t.skewed.insert(id) }
            if isSkewed, !wasSkewed { t.clockOff.append(entry) }
            if !isSkewed, !isSilent, entry.end == nil, wasSkewed { t.clockBack.append(entry) }
        }
        return t
    }

    private static func tell(_ changes: Transitions, services: CollectorServices) {
        let silentAfter = services.configuration.silentAfter
        for entry in changes.wentSilent {
            services.logger.warning("sidecar went silent", metadata: [
                "sidecar.id": "\(entry.sidecarId)", "agent.id": "\(entry.agentId ?? "-")",
                "sidecar.last_seen": "\(entry.lastSeen.map(RFC3339Time.string(milliseconds:)) ?? "never")",
                "fleet.silent_after_s": "\(silentAfter)",
            ])
        }
        for entry in changes.reportingAgain {
            services.logger.notice("sidecar reporting again", metadata: ["sidecar.id": "\(entry.sidecarId)", "agent.id": "\(entry.agentId ?? "-")"])
        }
        for entry in changes.clockOff {
            services.logger.warning("sidecar clock is off the collector's; its record times are too", metadata: [
                "sidecar.id": "\(entry.sidecarId)", "agent.id": "\(entry.agentId ?? "-")",
                "sidecar.clock_skew_ms": "\(entry.clockSkewMs ?? 0)", "fleet.max_clock_skew_s": "\(services.configuration.maxClockSkew)",
            ])
        }
        for entry in changes.clockBack {
            services.logger.notice("sidecar clock agrees with the collector's again", metadata: [
                "sidecar.id": "\(entry.sidecarId)", "sidecar.clock_skew_ms": "\(entry.clockSkewMs ?? 0)",
            ])
        }
        guard let alerts = services.alerts else { return }
        let ids = (changes.wentSilent + changes.reportingAgain + changes.clockOff + changes.clockBack).map(\.sidecarId)
            .joined(separator: ",")
        let logger = services.logger
        alerts.send(FleetAlertMessage.payload(for: changes, silentAfter: silentAfter, maxClockSkew: services.configuration.maxClockSkew,
                                              consoleURL: services.configuration.alertsConsoleURL),
                    metadata: ["sidecar.ids": "\(ids)"]) { outcome in
            if case .failed(let reason, let attempts) = outcome {
                logger.error("fleet alert webhook gave up", metadata: [
                    "sidecar.ids": "\(ids)", "webhook.error": "\(reason)", "webhook.attempts": "\(attempts)",
                ])
            }
        }
    }
}
