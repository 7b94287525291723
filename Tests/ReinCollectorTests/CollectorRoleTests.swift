import Testing
@testable import ReinCollector

@Suite struct CollectorRoleTests {
    @Test func rolesAreTheFourDocumentedOnes() {
        #expect(CollectorRole.allCases.map(\.rawValue).sorted() == ["admin", "approver", "auditor", "sidecar"])
        #expect(CollectorRole(rawValue: "root") == nil)
    }
}
