import Foundation
import Prometheus
import ReinCollectorClient
import ReinStore
import Synchronization

/// The sidecar's Prometheus metrics, served on the admin listener.
///
/// Why swift-prometheus: it is the maintained Swift implementation of the
/// exposition format, with lock-free counters and histograms. Labels are
/// bounded: decision, service and IAM action come from the catalog (never
/// from free agent input), so the series count stays finite.
public final class SidecarMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let latencyBuckets: [Double] = SidecarMetrics.buckets
    static let buckets: [Double] = [
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]

    /// Counters by label set, so the hot path does one dictionary lookup
    /// instead of re-validating the metric name and labels per request.
    private let requestCounters = Mutex<[String: Counter]>([:])
    private let phaseHistograms: [String: ValueHistogram]

    public init() {
        registry = PrometheusCollectorRegistry()
        var phases: [String: ValueHistogram] = [:]
        let descriptor = MetricNameDescriptor(namespace: "rein", metricName: "request_phase_duration", unitName: "seconds",
                                              helpText: "Latency of each request phase.")
        for phase in ["verify", "decide", "upstream", "total"] {
            phases[phase] = registry.makeValueHistogram(descriptor: descriptor, labels: [("phase", phase)], buckets: latencyBuckets)
        }
        phaseHistograms = phases
    }

    /// A gauge without labels, set to `value` (most are read from state when /metrics is scraped).
    private func setGauge(_ name: String, unit: String, help: String, _ value: Double) {
        registry.makeGauge(descriptor: descriptor(name, unit: unit, help: help), labels: []).set(to: value)
    }

    private func descriptor(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "rein", metricName: name, unitName: unit, helpText: help)
    }

    /// One finished request.
    public func request(decision: String, service: String?, action: String?) {
        let key = "\(decision)|\(service ?? "")|\(action ?? "")"
        let counter = requestCounters.withLock { cache -> Counter in
            if let c = cache[key] { return c }
            let c = registry.makeCounter(
                descriptor: descriptor("requests", unit: "total", help: "Agent requests by decision, service and IAM action."),
                labels: [("decision", decision), ("service", service ?? "unknown"), ("action", action ?? "unknown")])
            cache[key] = c
            return c
        }
        counter.increment()
    }

    /// A phase's latency: verify, decide, upstream or total.
    public func latency(phase: String, seconds: Double) {
        phaseHistograms[phase]?.record(seconds)
    }

    /// An upstream transfer that failed before a complete response.
    public func upstreamError(kind: String) {
        registry.makeCounter(
            descriptor: descriptor("upstream_errors", unit: "total", help: "Upstream failures by kind (connect, tls, timeout, ...)."),
            labels: [("kind", kind)]
        ).increment()
    }

    /// A broker or agent credential refresh.
    public func credentialRefresh(kind: String, success: Bool) {
        registry.makeCounter(
            descriptor: descriptor("credential_refreshes", unit: "total", help: "Credential refreshes by kind and result."),
            labels: [("kind", kind), ("result", success ? "success" : "failure")]
        ).increment()
    }

    /// 1 while static agent keys from configuration are accepted (tests only).
    public func staticAgentKeys(_ on: Bool) {
        registry.makeGauge(
            descriptor: descriptor("static_agent_keys", unit: "enabled", help: "1 when static agent keys from configuration are accepted (tests only)."),
            labels: []
        ).set(to: on ? 1.0 : 0.0)
    }

    public func connections(_ delta: Int) {
        let gauge = registry.makeGauge(
            descriptor: descriptor("agent_connections", unit: "open", help: "Open agent connections."), labels: [])
        if delta > 0 { gauge.increment(by: Double(delta)) } else { gauge.decrement(by: Double(-delta)) }
    }

    /// The spool's depth, size and fullness, set when /metrics is scraped.
    public func spool(_ stats: SpoolStats) {
        setGauge("audit_spool_depth", unit: "records", help: "Audit records spooled and not yet acknowledged by the collector.", Double(stats.records))
        setGauge("audit_spool", unit: "bytes", help: "Bytes of spooled audit lines (records, checkpoints, intents); the cap counts these.", Double(stats.bytes))
        setGauge("audit_spool_max", unit: "bytes", help: "The audit spool's cap (audit.spool_max_bytes).", Double(stats.maxBytes))
        setGauge("audit_spool_intents", unit: "open", help: "Forwarded calls whose outcome is not recorded yet.", Double(stats.intents))
        setGauge("audit_spool", unit: "full", help: "1 while the audit spool is full and requests are refused (or records dropped).", stats.full ? 1.0 : 0.0)
        setGauge("audit_spool_disk", unit: "full", help: "1 while the disk under the audit spool is full and requests are refused (until space is freed; no restart needed).", stats.diskFull ? 1.0 : 0.0)
        setGauge("audit_spool_held", unit: "outcomes", help: "Forwarded calls whose record waits for room on the spool's disk.", Double(stats.heldOutcomes))
    }

    /// Whether the `cpu_latency_qos` request is held now and how often it
    /// was made, set when /metrics is scraped: how much of the time the
    /// machine's idle CPUs poll because of this sidecar.
    public func cpuLatency(held: Bool, requests: Int) {
        setGauge("cpu_latency_qos", unit: "held", help: "1 while the sidecar holds its CPU latency request (cpu_latency_qos: idle CPUs poll instead of halting).", held ? 1.0 : 0.0)
        setGauge("cpu_latency_qos_requests", unit: "made", help: "Times the CPU latency request was made since start (once per busy stretch).", Double(requests))
    }

    /// How `policy_file` reloads went, set when /metrics is scraped: alert on
    /// `rein_policy_file_refused`, 1 while the file on disk did not apply
    /// (the policy before it is still in force).
    public func policyFile(refused: Bool, applied: Int) {
        setGauge("policy_file", unit: "refused", help: "1 while policy_file on disk was refused on reload (invalid, another agent's): the policy before it is in force.", refused ? 1.0 : 0.0)
        setGauge("policy_file_reloads", unit: "applied", help: "Times a changed policy_file was put in force since start (SIGHUP or policy_reload_interval).", Double(applied))
    }

    /// How shipping to the collector goes, set when /metrics is scraped:
    /// alert on `rein_audit_shipper_consecutive_failures` above zero for long,
    /// or on the age of the last success.
    public func shipper(_ status: AuditShipper.Status) {
        setGauge("audit_shipper", unit: "registered", help: "1 once the collector accepted this sidecar's registration (its checkpoint key).", status.registered ? 1.0 : 0.0)
        setGauge("audit_shipper_consecutive", unit: "failures", help: "Shipping rounds (registration, heartbeat, batches) that failed in a row; 0 after a round that worked.", Double(status.consecutiveFailures))
        setGauge("audit_shipped", unit: "records", help: "Audit records the collector acknowledged since start.", Double(status.shippedRecords))
        setGauge("audit_shipper_last_success", unit: "timestamp_seconds", help: "When the collector last acknowledged a batch (Unix time; 0: not yet). An idle sidecar ships nothing: alert on last contact instead.", status.lastSuccess?.timeIntervalSince1970 ?? 0)
        setGauge("audit_shipper_last_contact", unit: "timestamp_seconds", help: "When a shipping round last went through, batch or heartbeat (Unix time; 0: not yet).", status.lastContact?.timeIntervalSince1970 ?? 0)
    }

    /// An audit write that failed: `full` (the cap) or `storage` (SQLite).
    public func auditWriteFailure(kind: String) {
        registry.makeCounter(
            descriptor: descriptor("audit_write_failures", unit: "total", help: "Audit records that could not be stored, by kind (full: the spool's cap, disk_full: its disk, storage)."),
            labels: [("kind", kind)]
        ).increment()
    }

    /// A record dropped because the spool was full and audit.drop_when_full is set.
    public func auditDropped() {
        registry.makeCounter(
            descriptor: descriptor("audit_dropped_records", unit: "total", help: "Audit records dropped because the spool was full (audit.drop_when_full)."),
            labels: []
        ).increment()
    }

    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
