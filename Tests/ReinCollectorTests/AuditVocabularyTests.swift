import Testing
import ReinAudit
import ReinHolds

/// The query filters' lists of decisions and events cover what Rein writes.
@Suite struct AuditVocabularyTests {
    @Test func everyHoldEventAndItsDecisionAreKnownValues() {
        for kind in HoldEvent.Kind.allCases {
            #expect(AuditRecord.events.contains(kind.rawValue), "event \(kind.rawValue)")
            #expect(AuditRecord.decisions.contains(kind.decision), "decision \(kind.decision) of \(kind.rawValue)")
        }
    }

    @Test func theListsHaveNoRepeatsAndIncludeTheCallPath() {
        #expect(Set(AuditRecord.decisions).count == AuditRecord.decisions.count)
        #expect(Set(AuditRecord.events).count == AuditRecord.events.count)
        for decision in ["allow", "deny", "would-deny", "would-hold", "hold-pending", "error"] {
            #expect(AuditRecord.decisions.contains(decision))
        }
        #expect(AuditRecord.events.contains(AuditRecord(recordId: "r", time: "t", sidecarId: "s", via: "endpoint", decision: "allow").event))
    }
}
