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
        // Events whose record could not be written yet (a full disk, no
        // descriptors): kept in order and written before the next event, so
        // a hold's history is never silently short in the chain.
        let unwritten = Mutex<[HoldEvent]>([])
        let record: @Sendable (HoldEvent) -> Void = { event in
            // On the ledger's queue, in commit order: the chain keeps the order events happened in.
            unwritten.withLock { queue in
                queue.append(event)
                while let next = queue.first {
                    do {
                        _ = try trail.append(next.auditRecord(sidecarId: CollectorAuditTrail.sidecarId, via: AuditRecord.collectorVia), at: next.atMs)
                        queue.removeFirst()
                    } catch {
                        logger.error("could not record a hold event yet; it is kept and written with the next one", metadata: [
                            "hold.id": "\(next.hold.id)", "audit.event": "\(next.kind.rawValue)", "error": "\(error)",
                            "events.waiting": "\(queue.count)",
                        ])
                        return
                    }
                }
            }
            box.withLock { $0 }?.services.withLock { $0 }?.recordsChanged.signal()
        }
        let ledger: SQLiteHoldLedger
        do {
            ledger = try SQLiteHoldLedger(path: configuration.stateDir + "/holds.sqlite", settings: configuration.holds,
                                          logger: Logger(label: "rein.collector.holds"), onEvent: { event in
                                              record(event)
                                              if event.kind == .created { box.withLock { $0 }?.notifier.withLock { $0 }?.notify(event.hold) }
                                          })
        } catch {
            throw CollectorStartError("holds: \(error)")
        }
        let holds = CollectorHolds(ledger: ledger)
        box.withLock { $0 = holds }
        if let url = configuration.holdsWebhookURL {
            let notifier = HoldNotifier.recording(url: url, consoleURL: configuration.holdsConsoleURL, logger: logger, record: record)
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
