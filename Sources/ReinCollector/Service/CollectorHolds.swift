import Foundation
import Logging
import ReinAudit
import ReinCollectorClient
import ReinHolds
import ReinStore
import Synchronization

/// The collector's hold ledger (`state_dir/holds.sqlite`, behind the
/// ``HoldLedger`` interface), its expiry sweep, its webhook, and the
/// wiring that puts every hold event into the collector's own audit chain.
public final class CollectorHolds: Sendable {
    public let ledger: SQLiteHoldLedger
    private let services = Mutex<CollectorServices?>(nil)
    private let notifier = Mutex<HoldNotifier?>(nil)
    private let sweeper = Mutex<Task<Void, Never>?>(nil)

    private init(ledger: SQLiteHoldLedger) {
        self.ledger = ledger
    }

    static func open(_ configuration: CollectorConfiguration, trail: CollectorAuditTrail, logger: Logger) throws -> CollectorHolds {
        let box = Mutex<CollectorHolds?>(nil)
        let ledger: SQLiteHoldLedger
        do {
            // On the ledger's queue, in commit order: the chain keeps the order
            // events happened in. An event whose record cannot be written yet (a
            // full disk) stays in the ledger's outbox, also across a restart, and
            // is written before any later one: a hold's history is never short
            // in the chain. The webhook is called once its creation is on record.
            ledger = try SQLiteHoldLedger(path: configuration.holdsDatabase, settings: configuration.holds,
                                          logger: Logger(label: "rein.collector.holds"), onEvent: { event in
                                              _ = try trail.append(event.auditRecord(sidecarId: CollectorAuditTrail.sidecarId,
                                                                                     via: AuditRecord.collectorVia), at: event.atMs)
                                              let holds = box.withLock { $0 }
                                              holds?.services.withLock { $0 }?.recordsChanged.signal()
                                              if event.kind == .created { holds?.notifier.withLock { $0 }?.notify(event.hold) }
                                          })
        } catch {
            throw CollectorStartError("holds: \(error)")
        }
        let holds = CollectorHolds(ledger: ledger)
        box.withLock { $0 = holds }
        if let url = configuration.holdsWebhookURL {
            let notifier = HoldNotifier.recording(url: url, consoleURL: configuration.holdsConsoleURL, logger: logger) { event in
                do { try ledger.note(event) } catch {
                    logger.error("could not keep a webhook event", metadata: ["hold.id": "\(event.hold.id)", "error": "\(error)"])
                }
            }
            holds.notifier.withLock { $0 = notifier }
        }
        let task = ledger.startExpirySweep()
        holds.sweeper.withLock { $0 = task }
        return holds
    }

    func attach(_ services: CollectorServices) {
        self.services.withLock { $0 = services }
    }

    /// Stops the sweep and the webhook, and releases long-polls waiting on holds.
    func stop() {
        sweeper.withLock { $0 }?.cancel()
        notifier.withLock { $0 }?.stop()
        ledger.changed.close()
    }
}
