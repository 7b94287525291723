import NIOHTTP1
import ReinAudit
import ReinCatalog
import ReinStore
import ReinUpstream
import Synchronization

/// One request on its way through the sidecar: what the gate found, the
/// upstream exchange, and what the audit record will say.
///
/// Owned by one connection's event loop; never touched from another thread
/// (upstream events hop to the loop before they reach it).
final class Flight {
    let http: HTTPRequestHead
    let head: AgentRequestHead
    let requestId: String
    /// The audit record's id: the intent and the final record share it.
    let recordId = AuditRecord.newRecordId()
    let started: UInt64
    var facts = GateFacts()
    /// The durable intent of a forwarded call, until its record completes it.
    var ticket: IntentTicket?
    var expectsContinue = false
    var sentContinue = false
    var requestComplete = false
    var processor: BodyProcessor?
    var exchange: UpstreamExchange?
    var upstreamStarted: UInt64 = 0
    var upstreamNanos: UInt64 = 0
    var responseStarted = false
    var responsePaused = false
    var responseStatus: Int?
    /// The response body's length as its head declares it (0 for 1xx, 204,
    /// 304 and HEAD), nil when chunked: an agent that hangs up once it has
    /// all of it closed a finished call, not an interrupted one.
    var responseLength: Int64?
    var awsRequestId: String?
    /// Reads AWS's error code when the upstream answers 400 or above.
    var upstreamError: UpstreamErrorCode?
    var bytesIn: Int64 = 0
    var bytesOut: Int64 = 0
    var forwarded = false
    var failedLocally = false
    var finished = false

    /// Counts this request as in flight until it is released (graceful shutdown waits for zero).
    private let inFlight: InFlightCounter?

    init(http: HTTPRequestHead, head: AgentRequestHead, requestId: String, started: UInt64, inFlight: InFlightCounter? = nil) {
        self.http = http
        self.head = head
        self.requestId = requestId
        self.started = started
        self.inFlight = inFlight
        inFlight?.enter()
    }

    deinit { inFlight?.leave() }
}

/// The number of requests between head and release, for draining on SIGTERM.
final class InFlightCounter: Sendable {
    private let count = Atomic<Int>(0)
    func enter() { count.wrappingAdd(1, ordering: .relaxed) }
    func leave() { count.wrappingSubtract(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
