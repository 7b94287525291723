import ReinServiceKit

/// The collector's configuration problems are the services' shared
/// ``ConfigurationError``; the name stays for the collector's API.
public typealias CollectorConfigurationError = ConfigurationError
