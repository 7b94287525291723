import Foundation
import ReinAudit
import ReinCrypto
import ReinServiceKit
import ReinStore
import Synchronization

/// A record as the sidecar writes for an allowed S3 GetObject.
func spoolBenchmarkRecord(_ i: Int) -> AuditRecord {
    var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: AuditRecord.timestamp(Date()), sidecarId: "bench-sidecar",
                        via: "endpoint", decision: "allow")
    r.agentId = "bench-agent"
    r.taskId = "sidecar-bench"
    r.accessKeyId = "ASIAAGENTKEY0000TEST"
    r.sourceAddress = "127.0.0.1"
    r.userAgent = "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.0"
    r.service = "s3"
    r.region = "eu-west-1"
    r.operation = "GetObject"
    r.grants = [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::bench-bucket/reports/2026/q3/obj-\(i).json"])]
    r.statementId = "read-bench-objects"
    r.reason = "allowed by statement read-bench-objects"
    r.mode = "enforce"
    r.forwarded = true
    r.upstreamHost = "bench-bucket.s3.eu-west-1.amazonaws.com"
    r.upstreamStatus = 200
    r.awsRequestId = "4442587FB7D0A2F9"
    r.brokerSource = "static"
    r.bytesOut = 1024
    r.latency = .init(verifyMs: 0.012, decideMs: 0.003, upstreamMs: 0.310, totalMs: 0.402)
    return r
}

/// Failed writes, counted from the spool's completions.
final class FailureCount: Sendable {
    let value = Atomic<Int>(0)
}

/// One spool scenario's figures.
struct SpoolFigures {
    var requests = 0
    var seconds = 0.0
    var cpuSeconds = 0.0
    var failures = 0
    /// Durable writes (records, intents, completions) per transaction.
    var writesPerCommit = 0.0
    /// Durable writes per fdatasync (FULL only; one sync can cover several commits).
    var writesPerSync = 0.0
    /// Mean wall time of one fdatasync (FULL only).
    var microsPerSync = 0.0
    /// CPU time of the producer threads (record, line), the spool's writer
    /// (seal, SQLite) and its syncer (fdatasync, completions), per request.
    var producerCPUMicros = 0.0
    var writerCPUMicros = 0.0
    var syncerCPUMicros = 0.0
    /// WAL log restarts, and how long their RESTART checkpoints took (mean and longest, ms): waiting for the write lock, then holding it.
    var restarts = 0
    /// Of those, RESTARTs that gave up (the log did not start over).
    var busyRestarts = 0
    var restartMeanMillis = 0.0
    var restartLongestMillis = 0.0
    var microsPerRequest: Double { seconds * 1e6 / Double(max(1, requests)) }
    var cpuMicrosPerRequest: Double { cpuSeconds * 1e6 / Double(max(1, requests)) }
    var requestsPerSecond: Double { Double(requests) / max(seconds, 1e-9) }
}

/// Drives a fresh spool for about `duration` seconds with `inFlight`
/// requests outstanding, as the sidecar's event loops do: each request
/// builds its record and waits (asynchronously) for it to be durable; with
/// `intents`, each waits for its intent, then completes it without waiting
/// (an allowed, forwarded call; the record follows the response).
/// `producers` threads share the window, as the sidecar's event loops (one
/// per core) share its connections.
/// With `cpuLatency`, the spool tells a ``CPULatencyHold`` it is busy, as
/// the sidecar does with `cpu_latency_qos` set.
func runSpoolScenario(fullSync: Bool, inFlight: Int, intents: Bool, duration: Double, key: Ed25519PrivateKey,
                      producers: Int = 1, ships: Bool = false, cpuLatency: Bool = false) -> SpoolFigures {
    let dir = NSTemporaryDirectory() + "rein-bench-spool-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let hold: CPULatencyHold?
    do { hold = cpuLatency ? try CPULatencyHold() : nil } catch { fatalError("cannot hold the CPU latency request: \(error)") }
    defer { hold?.close() }
    let spool: AuditSpool
    do {
        spool = try AuditSpool(configuration: AuditSpoolConfiguration(path: dir + "/audit-spool.db", sidecarId: "bench-sidecar", signingKey: key,
                                                                      fullSync: fullSync, maxBytes: 64 << 30,
                                                                      onBusy: hold.map { h in { @Sendable in h.noteBusy() } }))
    } catch {
        fatalError("cannot open the bench spool: \(error)")
    }
    while spool.threadCPUSeconds == nil { usleep(100) }
    // As the sidecar's shipper does: every 200 ms, read batches of up to
    // 1,000 records and acknowledge each (no network: the collector's side
    // is not the sidecar's cost).
    let shipping = Atomic<Bool>(ships)
    let shipperDone = DispatchSemaphore(value: 0)
    if ships {
        Thread.detachNewThread {
            while shipping.load(ordering: .relaxed) {
                usleep(200_000)
                while let batch = try? spool.pendingBatch(maxRecords: 1000, maxBytes: 4 << 20), batch.recordCount > 0 {
                    _ = try? spool.acknowledge(throughSequence: batch.throughSequence)
                }
            }
            shipperDone.signal()
        }
    }
    let figures = driveSpool(spool, fullSync: fullSync, inFlight: inFlight, intents: intents, duration: duration, producers: producers)
    if ships {
        shipping.store(false, ordering: .relaxed)
        shipperDone.wait()
    }
    spool.close()
    return figures
}

/// One measured stretch of load on `spool`: the figures are differences
/// over this stretch only.
private func driveSpool(_ spool: AuditSpool, fullSync: Bool, inFlight: Int, intents: Bool, duration: Double, producers: Int) -> SpoolFigures {
    let completions = DispatchGroup()
    let failures = FailureCount()
    let issued = Atomic<Int>(0)
    let producerCPUNanos = Atomic<Int>(0)
    let clock = ContinuousClock()
    let threadsStart = spool.threadCPUSeconds ?? (0, 0)
    let commitsStart = spool.stats.commits, syncsStart = spool.syncs, syncSecondsStart = spool.syncSeconds
    let checkpointStart = spool.checkpointStats
    let cpuStart = processCPUSeconds()
    let start = clock.now
    let end = start + .milliseconds(Int(duration * 1000))
    let finished = DispatchGroup()
    for p in 0..<producers {
        let share = inFlight / producers + (p < inFlight % producers ? 1 : 0)
        finished.enter()
        Thread.detachNewThread {
            let window = DispatchSemaphore(value: share)
            // Intents made durable, waiting for their call's record: the
            // producer writes it, as the sidecar's event loop does after the
            // response, not the spool's thread that delivered the intent.
            let answered = Mutex<[(IntentTicket, AuditRecord)]>([])
            func completeAnswered() {
                for (ticket, record) in answered.withLock({ a in defer { a.removeAll(keepingCapacity: true) }; return a }) {
                    spool.complete(ticket, with: record) { result in
                        if case .failure = result { failures.value.add(1, ordering: .relaxed) }
                        completions.leave()
                    }
                }
            }
            let producerStart = threadCPUSeconds()
            while clock.now < end {
                window.wait()
                completeAnswered()
                let n = issued.add(1, ordering: .relaxed).newValue
                let record = spoolBenchmarkRecord(n)
                if intents {
                    // As the sidecar does: the intent is on the request's path (the
                    // call waits for it); the final record is written after the
                    // response and nobody waits for it.
                    completions.enter()
                    spool.appendIntent(record) { result in
                        guard case .success(let ticket) = result else {
                            failures.value.add(1, ordering: .relaxed)
                            window.signal()
                            completions.leave()
                            return
                        }
                        var done = record
                        done.bytesIn = 0
                        answered.withLock { $0.append((ticket, done)) }
                        window.signal()
                    }
                } else {
                    spool.append(record) { result in
                        if case .failure = result { failures.value.add(1, ordering: .relaxed) }
                        window.signal()
                    }
                }
            }
            for _ in 0..<share { window.wait() }
            completeAnswered()
            for _ in 0..<share { window.signal() } // libdispatch refuses to free a semaphore below its initial value
            producerCPUNanos.add(Int((threadCPUSeconds() - producerStart) * 1e9), ordering: .relaxed)
            finished.leave()
        }
    }
    finished.wait()
    completions.wait()
    let elapsed = clock.now - start
    let threadsEnd = spool.threadCPUSeconds ?? threadsStart
    let writerCPU = threadsEnd.writer - threadsStart.writer, syncerCPU = threadsEnd.syncer - threadsStart.syncer
    let requests = issued.load(ordering: .relaxed)
    let perRequest = 1e6 / Double(max(1, requests))
    let writes = Double(requests * (intents ? 2 : 1))
    let syncs = Double(max(1, spool.syncs - syncsStart))
    let checkpoint = spool.checkpointStats
    let restarts = checkpoint.restarts - checkpointStart.restarts
    var figures = SpoolFigures(requests: requests,
                        seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                        cpuSeconds: processCPUSeconds() - cpuStart, failures: failures.value.load(ordering: .relaxed),
                        writesPerCommit: writes / Double(max(1, spool.stats.commits - commitsStart)),
                        writesPerSync: fullSync ? writes / syncs : 0,
                        microsPerSync: fullSync ? (spool.syncSeconds - syncSecondsStart) * 1e6 / syncs : 0,
                        producerCPUMicros: Double(producerCPUNanos.load(ordering: .relaxed)) / 1e9 * perRequest,
                        writerCPUMicros: writerCPU * perRequest, syncerCPUMicros: syncerCPU * perRequest)
    figures.restarts = restarts
    figures.busyRestarts = checkpoint.busyRestarts - checkpointStart.busyRestarts
    figures.restartMeanMillis = Double(checkpoint.restartNanoseconds - checkpointStart.restartNanoseconds) / 1e6 / Double(max(1, restarts))
    // The counter keeps only the longest since the spool opened: this stretch is its whole life.
    figures.restartLongestMillis = Double(checkpoint.longestRestartNanoseconds) / 1e6
    return figures
}

/// Sidecar audit cost per request: build the record, its line and hash, and
/// make it durable in the spool, alone and with 32 requests in flight
/// (group commit amortises the fsync).
func runSpoolBenchmark() {
    print("Rein audit spool benchmark")
    var chain = AuditChain()
    let sealNs = measure("build record + line + SHA-256 (in memory)", iterations: 20_000) {
        var r = spoolBenchmarkRecord(1)
        blackHole(try? chain.seal(&r))
    }
    // The parts, so the figure says where a record's own cost goes.
    let buildNs = measure("  build the record (id, time, fields)", iterations: 20_000) { blackHole(spoolBenchmarkRecord(1)) }
    _ = measure("    of which the record id", iterations: 20_000) { blackHole(AuditRecord.newRecordId()) }
    _ = measure("    of which the time", iterations: 20_000) { blackHole(AuditRecord.timestamp(Date())) }
    let probeRecord = spoolBenchmarkRecord(1)
    let encodeNs = measure("  encode its line (caller's thread)", iterations: 20_000) { blackHole(PreparedRecord(probeRecord)) }
    let prepared = PreparedRecord(probeRecord)
    var sealChain = AuditChain()
    let chainNs = measure("  seal: chain fields + SHA-256 (writer)", iterations: 20_000) { blackHole(sealChain.seal(prepared)) }
    var probeChain = AuditChain()
    var probe = spoolBenchmarkRecord(1)
    let lineBytes = (try? probeChain.seal(&probe).line.count) ?? 0
    guard let key = try? Ed25519PrivateKey() else { fatalError("no Ed25519 key") }
    let duration = Double(ProcessInfo.processInfo.environment["REIN_BENCH_SPOOL_SECONDS"] ?? "") ?? 3
    let scenarios = [
        SpoolScenario("record, synchronous FULL, 1 in flight", "full_c1", inFlight: 1),
        SpoolScenario("record, synchronous FULL, 32 in flight", "full_c32", inFlight: 32),
        SpoolScenario("record, FULL, 32 in flight from 2 event-loop threads", "full_c32_p2", inFlight: 32, producers: 2),
        SpoolScenario("record, FULL, 32 in flight, shipped every 200 ms", "full_c32_ship", inFlight: 32, ships: true),
        SpoolScenario("intent + complete, FULL, 1 in flight", "intent_full_c1", inFlight: 1, intents: true),
        SpoolScenario("intent + complete, FULL, 32 in flight", "intent_full_c32", inFlight: 32, intents: true),
        SpoolScenario("record, synchronous NORMAL, 1 in flight", "normal_c1", fullSync: false, inFlight: 1),
        SpoolScenario("record, synchronous NORMAL, 32 in flight", "normal_c32", fullSync: false, inFlight: 32),
    ]
    var results = [String(format: "seal_us=%.2f build_us=%.2f encode_us=%.2f chain_us=%.2f", sealNs / 1000, buildNs / 1000, encodeNs / 1000,
                          chainNs / 1000), "line_bytes=\(lineBytes)"]
    var table = ["| scenario | µs per request (wall, amortised) | requests/s | CPU µs per request | of which producer / writer / syncer | writes per commit | writes per fsync | µs per fsync | log restarts: count, RESTART time (mean / longest ms) | failures |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    // Each FULL scenario runs again right after itself with the sidecar's
    // `cpu_latency_qos` (idle CPUs poll while the spool is busy), when this
    // process may write the device: back to back, so the pair shares the
    // disk's mood.
    let qosAvailable = access(CPULatencyHold.devicePath, W_OK) == 0
    if !qosAvailable { print("(no write access to \(CPULatencyHold.devicePath): the cpu_latency_qos rows are left out)") }
    // The headline pair (32 in flight, with and without the request) runs
    // `REIN_BENCH_SPOOL_REPEATS` times (default 3), interleaved, and reports
    // its median run: one 3-second run moves by ±10% with the disk's mood.
    let repeats = max(1, Int(ProcessInfo.processInfo.environment["REIN_BENCH_SPOOL_REPEATS"] ?? "") ?? 3)
    let only = ProcessInfo.processInfo.environment["REIN_BENCH_SPOOL_ONLY"] // one scenario key, for profiling
    for base in scenarios {
        let group = ([base] + (base.fullSync && qosAvailable ? [base.withCPULatencyQoS()] : [])).filter { only == nil || only == $0.key }
        let rounds = base.key == "full_c32" ? repeats : 1
        var runs = Array(repeating: [SpoolFigures](), count: group.count)
        for _ in 0..<rounds {
            for (i, s) in group.enumerated() {
                let f = runSpoolScenario(fullSync: s.fullSync, inFlight: s.inFlight, intents: s.intents, duration: duration, key: key,
                                         producers: s.producers, ships: s.ships, cpuLatency: s.cpuLatency)
                runs[i].append(f)
                print(String(format: "%-46@ %10.2f µs/request  %9.0f requests/s  %7.2f CPU µs/request (%.1f producer, %.1f writer, %.1f syncer)  %5.1f writes/commit  %5.1f writes/sync  %6.0f µs/sync  %d log restarts, %d gave up (%.2f / %.2f ms)  (%d requests%@)",
                             s.name as NSString, f.microsPerRequest, f.requestsPerSecond, f.cpuMicrosPerRequest, f.producerCPUMicros, f.writerCPUMicros,
                             f.syncerCPUMicros, f.writesPerCommit, f.writesPerSync,
                             f.microsPerSync, f.restarts, f.busyRestarts, f.restartMeanMillis, f.restartLongestMillis, f.requests,
                             (f.failures > 0 ? ", \(f.failures) FAILED" : "") as NSString))
            }
        }
        for (i, s) in group.enumerated() {
            let sorted = runs[i].sorted { $0.microsPerRequest < $1.microsPerRequest }
            let f = sorted[sorted.count / 2]
            let name = rounds > 1 ? "\(s.name) (median of \(rounds))" : s.name
            results.append(String(format: "%@_us=%.2f %@_rps=%.0f %@_cpu_us=%.2f %@_writer_cpu_us=%.2f %@_sync_us=%.0f", s.key as NSString,
                                  f.microsPerRequest, s.key as NSString, f.requestsPerSecond, s.key as NSString, f.cpuMicrosPerRequest,
                                  s.key as NSString, f.writerCPUMicros, s.key as NSString, f.microsPerSync))
            if rounds > 1 {
                results.append("\(s.key)_runs=" + runs[i].map { String(format: "%.1f", $0.microsPerRequest) }.joined(separator: "/"))
            }
            table.append(String(format: "| %@ | %.1f | %.0f | %.1f | %.1f / %.1f / %.1f | %.1f | %@ | %@ | %d (%.1f / %.1f) | %d |", name as NSString,
                                f.microsPerRequest, f.requestsPerSecond, f.cpuMicrosPerRequest, f.producerCPUMicros, f.writerCPUMicros, f.syncerCPUMicros,
                                f.writesPerCommit, (s.fullSync ? String(format: "%.1f", f.writesPerSync) : "–") as NSString,
                                (s.fullSync ? String(format: "%.0f", f.microsPerSync) : "–") as NSString, f.restarts, f.restartMeanMillis,
                                f.restartLongestMillis, runs[i].reduce(0) { $0 + $1.failures }))
        }
    }
    print("RESULT " + results.joined(separator: " ") + " target_us=20.00")
    print("TABLE")
    for line in table { print(line) }
}

/// One row of the spool benchmark.
struct SpoolScenario {
    var name: String
    var key: String
    var fullSync = true
    var inFlight: Int
    var intents = false
    var producers = 1
    var ships = false
    var cpuLatency = false

    init(_ name: String, _ key: String, fullSync: Bool = true, inFlight: Int, intents: Bool = false, producers: Int = 1, ships: Bool = false) {
        self.name = name
        self.key = key
        self.fullSync = fullSync
        self.inFlight = inFlight
        self.intents = intents
        self.producers = producers
        self.ships = ships
    }

    /// The same load with the sidecar's `cpu_latency_qos` set.
    func withCPULatencyQoS() -> SpoolScenario {
        var s = self
        s.name += ", cpu_latency_qos"
        s.key += "_qos"
        s.cpuLatency = true
        return s
    }
}
