/// What the shipper needs from a spool: the oldest unshipped lines in chain
/// order, and a way to delete them once the collector has them.
///
/// Why a protocol: the shipper's retry and acknowledgement logic is tested
/// against a real ``ReinStore`` spool and against small in-memory ones that
/// fail on purpose, without a sidecar around it.
public protocol ShippableSpool: Sendable {
    /// Up to `maxRecords` records (and the checkpoints among them), at most
    /// about `maxBytes`; nil when nothing is waiting.
    func nextShipment(maxRecords: Int, maxBytes: Int) throws -> Shipment?
    /// Deletes everything up to and including `throughSequence`.
    func acknowledgeShipment(throughSequence: Int64) throws
}
