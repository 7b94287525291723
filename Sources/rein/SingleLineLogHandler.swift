import Logging

/// The process's log handler: swift-log's stream handler, with the message
/// and every metadata value passed through ``SafeText``.
///
/// Why: log lines carry what clients sent (a route, an agent id, a user
/// agent, a reason quoting them). One event must stay one line, so that a
/// newline in a request cannot forge a log entry that a SIEM would trust.
struct SingleLineLogHandler: LogHandler {
    private var inner: StreamLogHandler

    init(_ inner: StreamLogHandler) { self.inner = inner }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue.mapValues(Self.escape) }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue.map(Self.escape) }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = "\(SafeText.escape(event.message.description))"
        event.metadata = event.metadata?.mapValues(Self.escape)
        if let error = event.error {
            // The stream handler would print the error's text as it is.
            event.metadata = (event.metadata ?? [:]).merging(["error.message": .string(SafeText.escape("\(error)"))]) { old, _ in old }
            event.error = nil
        }
        inner.log(event: event)
    }

    static func escape(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let s): .string(SafeText.escape(s))
        case .stringConvertible(let c): .string(SafeText.escape(c.description))
        case .array(let a): .array(a.map(escape))
        case .dictionary(let d): .dictionary(d.mapValues(escape))
        }
    }
}
