import Testing
@testable import ReinCollector

@Suite struct CollectorRoleTests {
    @Test func rolesAreTheDocumentedOnes() {
        #expect(CollectorRole.allCases.map(\.rawValue).sorted() == ["admin", "approver", "auditor", "metrics", "sidecar"])
        #expect(CollectorRole(rawValue: "root") == nil)
    }
}
