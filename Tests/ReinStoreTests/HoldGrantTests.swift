import Testing
import ReinHolds

/// A scoped approval covers exactly what it names.
@Suite struct HoldGrantTests {
    let grant = HoldGrant(id: "g-1", holdId: "h-1", agentId: "agent-a", taskId: "task-1",
                          grants: [HoldGrantItem(action: "s3:DeleteObject", resources: ["arn:aws:s3:::b/k"])],
                          approver: "alice", reason: "ok", createdMs: 0, expiresMs: 1_000)

    @Test func coversOnlyWhatItNames() {
        let exact = [HoldGrantItem(action: "s3:DeleteObject", resources: ["arn:aws:s3:::b/k"])]
        #expect(grant.covers(agentId: "agent-a", taskId: "task-1", wanted: exact, at: 10))
        #expect(!grant.covers(agentId: "agent-a", taskId: "task-1", wanted: exact, at: 1_000))
        #expect(!grant.covers(agentId: "agent-b", taskId: "task-1", wanted: exact, at: 10))
        #expect(!grant.covers(agentId: "agent-a", taskId: "task-1",
                              wanted: [HoldGrantItem(action: "s3:DeleteObject", resources: ["arn:aws:s3:::b/other"])], at: 10))
        // No resources named is not "within every grant".
        #expect(!grant.covers(agentId: "agent-a", taskId: "task-1",
                              wanted: [HoldGrantItem(action: "s3:DeleteObject", resources: [])], at: 10))
        #expect(!grant.covers(agentId: "agent-a", taskId: "task-1", wanted: [], at: 10))
    }
}
