import Foundation
import Logging
import NIOCore
import NIOPosix
import ReinCatalog
import ReinCollectorClient
import ReinCrypto
import ReinAudit
import ReinCompliance
import ReinHolds
import ReinStore
import ReinTLS
import ReinServiceKit

/// Builds a collector from its configuration and starts it: state
/// directory, SQLite store, the collector's own audit chain, the HTTP
/// server, the retention job and the fleet watch (silent sidecars).
public enum CollectorLauncher {
    /// What the disk under the database may do to the collector (a network
    /// file system: ``NetworkFileSystem``), said at start and by check-config.
    public static func storageWarning(_ configuration: CollectorConfiguration) -> String? {
        NetworkFileSystem.warning(for: configuration.resolvedDatabase, role: "the collector's database")
    }

    /// - Parameter routes: extra routes (the holds module), added to the standard table.
    public static func launch(_ configuration: CollectorConfiguration, logger: Logger, version: String = "dev",
                              routes: [CollectorRoute] = []) async throws -> RunningCollector {
        var tls: CollectorTLS?
        if configuration.tlsEnabled, let cert = configuration.tlsCertificate, let key = configuration.tlsKey {
            tls = try CollectorTLS(certificateFile: cert, keyFile: key, logger: logger)
            tls?.warnIfExpiring()
        }
        do {
            try FileManager.default.createDirectory(atPath: configuration.stateDir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw CollectorStartError("cannot create state_dir \(configuration.stateDir): \(error.localizedDescription)")
        }
        if let network = storageWarning(configuration) { logger.warning("\(network)") }
        let store: SQLiteCollectorStore
        do {
            store = try SQLiteCollectorStore(path: configuration.resolvedDatabase, logger: Logger(label: "rein.collector.store"))
        } catch {
            throw CollectorStartError("cannot open the collector database \(configuration.resolvedDatabase): \(error)")
        }
        let catalog: ServiceCatalog
        do { catalog = try ServiceCatalog.bundled() } catch {
            throw CollectorStartError("cannot load the AWS catalog for policy validation: \(error)")
        }
        let signingKey: Ed25519PrivateKey
        do {
            signingKey = try SigningKeyFile.loadOrCreate(path: configuration.signingKeyPath)
        } catch {
            throw CollectorStartError("audit: \(error)")
        }
        let trail = try CollectorAuditTrail(store: store, logger: logger, key: signingKey)
        // The chain head is also signed at least once a minute while it moves, and at shutdown.
        let checkpoints = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(60))
                do { try trail.checkpointNow(at: RFC3339Time.milliseconds(of: Date())) } catch {
                    logger.error("could not sign a checkpoint of the collector's audit chain", metadata: ["error": "\(error)"])
                }
            }
        }
        let pool = NIOThreadPool(numberOfThreads: CollectorServices.blockingThreads)
        pool.start()
        let holds = try CollectorHolds.open(configuration, trail: trail, logger: logger)
        let catalogs = try loadCatalogs(configuration, logger: logger)
        let alerts = configuration.alertsWebhookURL.map {
            WebhookSender(settings: .init(url: $0), purpose: "alert", logger: logger)
        }
        let services = CollectorServices(configuration: configuration, store: store, trail: trail,
                                         policyGate: PolicyGate(catalog: catalog), threadPool: pool, logger: logger,
                                         holds: HoldAPI(ledger: holds.ledger, settings: configuration.holds),
                                         complianceCatalogs: catalogs, alerts: alerts,
                                         exportNaming: AuditExport.Naming(signingName: { catalog.signingName(ofService: $0) ?? $0 },
                                                                          readOnly: { catalog.isReadOnly(service: $0, operation: $1) }),
                                         canonicalAction: { catalog.canonicalAction($0) ?? $0 },
                                         metrics: CollectorMetrics(version: version))
        holds.attach(services)
        var router = CollectorRouter.standard()
        for route in routes { router.add(route) }
        let server = CollectorServer(services: services, router: router, tls: tls)
        let address: SocketAddress
        do {
            address = try await server.start()
        } catch {
            await server.shutdown(grace: .zero)
            throw CollectorStartError("cannot listen on \(configuration.listen): \(error)")
        }
        let retention = RetentionJob(services: services)
        let backups = BackupJob(services: services, reinVersion: version)
        // Refusals folded into a window are recorded when it ends.
        let refusalFlush = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await services.recordFoldedRefusals(now: services.now())
            }
        }
        // A renewed certificate is picked up without a restart (and at once on SIGHUP: ``RunningCollector/reload(_:)``).
        let tlsWatch = tls.map { tls in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: configuration.tlsReloadInterval)
                    if !Task.isCancelled {
                        tls.reload()
                        tls.warnIfExpiring()
                    }
                }
            }
        }
        let running = RunningCollector(server: server, address: address, retention: retention, backups: backups, fleetWatch: FleetWatch(services: services),
                                       storeWatch: StoreFaultWatch(services: services), holds: holds, trail: trail, checkpoints: checkpoints, refusalFlush: refusalFlush, tlsWatch: tlsWatch)
        if configuration.silentAfter < 30 {
            // Sidecars heartbeat every 15 s by default: a shorter window flaps (and alerts) on every beat.
            logger.warning("fleet.silent_after is shorter than two default sidecar heartbeats (2 × 15 s): sidecars will flap between silent and ok",
                           metadata: ["fleet.silent_after_s": "\(configuration.silentAfter)"])
        }
        logger.info("rein collector listening", metadata: [
            "listen": "\(running.url)", "database": "\(configuration.resolvedDatabase)", "tokens": "\(configuration.tokens.count)",
            "retention.days": "\(configuration.retention / 86_400)", "fleet.silent_after_s": "\(configuration.silentAfter)",
        ])
        return running
    }
}

extension CollectorLauncher {
    /// The framework catalogs: from `compliance_dir`, else the first of
    /// `$REIN_COMPLIANCE_DIR`, `./Compliance` and `Compliance` two levels
    /// above the executable (a SwiftPM build tree) or `share/rein/Compliance`
    /// beside its `bin/` (an install). A configured directory that does not
    /// load stops the start; with none found, reports answer 503.
    static func loadCatalogs(_ configuration: CollectorConfiguration, logger: Logger) throws -> [ComplianceCatalog] {
        if let dir = configuration.complianceDir {
            do { return try ComplianceCatalogLoader.loadAll(directory: dir) } catch {
                throw CollectorStartError("compliance_dir: \(error)")
            }
        }
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates = [FileManager.default.currentDirectoryPath + "/Compliance",
                          exe.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Compliance").path,
                          exe.deletingLastPathComponent().appendingPathComponent("share/rein/Compliance").path]
        if let env = ProcessInfo.processInfo.environment["REIN_COMPLIANCE_DIR"], !env.isEmpty { candidates.insert(env, at: 0) }
        for dir in candidates where FileManager.default.fileExists(atPath: dir) {
            do {
                let catalogs = try ComplianceCatalogLoader.loadAll(directory: dir)
                logger.info("framework catalogs loaded", metadata: ["compliance.dir": "\(dir)", "compliance.frameworks": "\(catalogs.map(\.framework.id).joined(separator: ","))"])
                return catalogs
            } catch {
                throw CollectorStartError("framework catalogs in \(dir): \(error)")
            }
        }
        logger.warning("no framework catalogs found: reports are unavailable (set compliance_dir)", metadata: ["compliance.searched": "\(candidates.joined(separator: ", "))"])
        return []
    }
}

/// A started collector.
public final class RunningCollector: Sendable {
    public let server: CollectorServer
    public let address: SocketAddress
    let retention: RetentionJob
    let backups: BackupJob
    let fleetWatch: FleetWatch
    let storeWatch: StoreFaultWatch
    let holds: CollectorHolds
    let trail: CollectorAuditTrail
    let checkpoints: Task<Void, Never>
    let refusalFlush: Task<Void, Never>
    /// Re-reads the TLS files every `tlsReloadInterval`, when TLS is on.
    let tlsWatch: Task<Void, Never>?

    init(server: CollectorServer, address: SocketAddress, retention: RetentionJob, backups: BackupJob, fleetWatch: FleetWatch,
         storeWatch: StoreFaultWatch, holds: CollectorHolds,
         trail: CollectorAuditTrail, checkpoints: Task<Void, Never>, refusalFlush: Task<Void, Never>, tlsWatch: Task<Void, Never>?) {
        self.refusalFlush = refusalFlush
        self.tlsWatch = tlsWatch
        self.fleetWatch = fleetWatch
        self.storeWatch = storeWatch
        self.holds = holds
        self.trail = trail
        self.checkpoints = checkpoints
        self.server = server
        self.address = address
        self.retention = retention
        self.backups = backups
    }

    /// `http(s)://host:port` of the bound listener.
    public var url: String {
        let host = address.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "127.0.0.1"
        return "\(server.tls == nil ? "http" : "https")://\(host):\(address.port ?? 0)"
    }

    /// Returns on SIGTERM or SIGINT.
    public func waitForShutdownSignal() async {
        await ShutdownSignal.wait()
    }

    /// Stops listening, lets requests in flight finish, stops retention,
    /// the fleet watch and the alert webhook.
    public func shutdown() async {
        retention.stop()
        backups.stop()
        fleetWatch.stop()
        storeWatch.stop()
        holds.stop()
        await server.shutdown()
        server.services.alerts?.stop()
        checkpoints.cancel()
        refusalFlush.cancel()
        tlsWatch?.cancel()
        await refusalFlush.value  // a flush in progress lands before the last one and the last checkpoint
        await server.services.recordFoldedRefusals(now: .distantFuture)
        do { try trail.checkpointNow(at: RFC3339Time.milliseconds(of: Date())) } catch {
            server.services.logger.error("could not sign the last checkpoint of the collector's audit chain", metadata: ["error": "\(error)"])
        }
        holds.ledger.close()
        server.services.store.close()
        server.services.logger.info("rein collector stopped")
    }
}
