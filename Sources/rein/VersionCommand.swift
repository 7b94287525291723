import ArgumentParser
import CReinCurl
import ReinCrypto
import ReinStore

/// Prints Rein's version and the system libraries it is linked against, so
/// an operator can confirm distro-patched OpenSSL, libcurl and SQLite.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print Rein's version and the system crypto, HTTP and SQLite libraries it uses.")

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let sqlite = (try? SQLiteStore.libraryVersion()) ?? "unavailable"
        let info: [(String, String)] = [
            ("rein", ReinVersion.current),
            ("openssl", CryptoLibrary.versionText),
            ("fips_provider", CryptoLibrary.fipsProviderAvailable ? "available" : "not installed"),
            ("libcurl", String(cString: CReinCurl_version_text())),
            ("libcurl_tls", String(cString: CReinCurl_ssl_version_text())),
            ("sqlite", sqlite),
        ]
        if json {
            print(try JSONOutput.encode(Dictionary(uniqueKeysWithValues: info)))
        } else {
            for (k, v) in info { print("\(k.padding(13)) \(v)") }
        }
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
