import Foundation
import Logging
import ReinAudit
import ReinCollectorClient
import ReinHolds
import ReinStore
import Synchronization

/// Chooses where this sidecar's holds live and builds the pieces.
///
/// - With a collector: holds are registered there and approvers use the
///   collector (``RemoteHoldLedger``); the collector writes the hold events
///   and calls the webhook.
/// - Standalone with `holds.tokens`: holds live in `state_dir/holds.sqlite`,
///   the admin listener serves the holds API, hold events go into this
///   sidecar's own audit chain, and `holds.webhook_url` is called here.
/// - Neither: nobody could approve, so every hold is denied at once
///   (``DenyingHoldGate``), naming what to configure.
struct HoldsSetup: Sendable {
    let gate: any HoldGate
    let api: StandaloneHoldsAPI?
    let stop: @Sendable () -> Void
    /// Why the local holds database refuses writes until a restart, or nil
    /// (always nil for holds kept by the collector, or none).
    var durabilityFault: @Sendable () -> String? = { nil }

    static func make(_ config: SidecarConfiguration, spool: AuditSpool, logger: Logger) throws -> HoldsSetup {
        let settings = config.holds
        if config.collector.isEnabled, let url = config.collector.url, let tokenFile = config.collector.tokenFile {
            let client: CollectorClient
            do {
                client = try CollectorClient(baseURL: url, tokenFile: tokenFile, caBundlePath: config.collector.caFile, timeout: 15)
            } catch {
                throw SidecarStartError("holds: \(error)")
            }
            let keeper = HoldKeeper(ledger: RemoteHoldLedger(client: client), sidecarId: config.sidecarId, wait: settings.wait,
                                    logger: logger)
            return HoldsSetup(gate: keeper, api: nil, stop: {})
        }
        guard !settings.tokens.isEmpty else {
            return HoldsSetup(gate: DenyingHoldGate(), api: nil, stop: {})
        }
        let sidecarId = config.sidecarId
        let notifierBox = Mutex<HoldNotifier?>(nil)
        let ledger: SQLiteHoldLedger
        do {
            // Each event is durable in the spool before the ledger lets it go
            // (on the ledger's queue, never an event loop); one the spool
            // refuses (full, closing) stays in the ledger's outbox, also across
            // a restart, and is written before any later one. The webhook is
            // called once the hold's creation is on record.
            ledger = try SQLiteHoldLedger(path: settings.databasePath ?? config.stateDir + "/holds.sqlite", settings: settings.ledgerSettings,
                                          logger: logger, onEvent: { event in
                                              try spool.append(event.auditRecord(sidecarId: sidecarId, via: "holds"))
                                              if event.kind == .created { notifierBox.withLock { $0 }?.notify(event.hold) }
                                          })
        } catch {
            throw SidecarStartError("holds: \(error)")
        }
        if let url = settings.webhookURL {
            let notifier = HoldNotifier.recording(url: url, consoleURL: settings.consoleURL, logger: logger) { event in
                do { try ledger.note(event) } catch {
                    logger.error("could not keep a webhook event", metadata: ["hold.id": "\(event.hold.id)", "error": "\(error)"])
                }
            }
            notifierBox.withLock { $0 = notifier }
        }
        // Expiry: undecided holds become expired (and are recorded) on time,
        // whether or not anyone is waiting on them.
        let sweeper = ledger.startExpirySweep()
        logger.info("holds kept locally; approvers use the admin listener", metadata: [
            "holds.database": "\(ledger.path)", "holds.approvers": "\(settings.tokens.map(\.name).joined(separator: ","))",
            "holds.webhook": "\(settings.webhookURL == nil ? "off" : "on")",
        ])
        let keeper = HoldKeeper(ledger: ledger, sidecarId: sidecarId, wait: settings.wait, logger: logger)
        let api = StandaloneHoldsAPI(api: HoldAPI(ledger: ledger, settings: settings.ledgerSettings), tokens: HoldTokenBook(settings.tokens),
                                     logger: logger)
        return HoldsSetup(gate: keeper, api: api, stop: {
            sweeper.cancel()
            notifierBox.withLock { $0 }?.stop()
            ledger.close()
        }, durabilityFault: { ledger.durabilityFault })
    }
}
