import ReinStore

/// The sidecar's SQLite spool is what the shipper drains.
extension AuditSpool: ShippableSpool {
    public func nextShipment(maxRecords: Int, maxBytes: Int) throws -> Shipment? {
        let batch = try pendingBatch(maxRecords: maxRecords, maxBytes: maxBytes)
        guard !batch.isEmpty else { return nil }
        return Shipment(lines: batch.lines, recordCount: batch.recordCount, throughSequence: batch.throughSequence)
    }

    public func acknowledgeShipment(throughSequence: Int64) throws {
        _ = try acknowledge(throughSequence: throughSequence)
    }
}
