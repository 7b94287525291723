import Testing
import ReinPolicy
import ReinUpstream
import Yams

/// Error messages about configuration quote no secret: not a URL's
/// user-info or query, not the line of a YAML syntax error, not a long
/// value pasted into the wrong key.
@Suite struct SecretSafeTextTests {
    @Test(arguments: [
        ("http://rein:hunter2@127.0.0.1:17131/creds", "http://…@127.0.0.1:17131/creds"),
        ("http://127.0.0.1:17131/creds?auth=hunter2", "http://127.0.0.1:17131/creds?…"),
        ("ftp://127.0.0.1/hunter2", "ftp://127.0.0.1/hunter2"),
        ("user:hunter2@host/x", "…@host/x"),
        ("https://collector.internal:7700", "https://collector.internal:7700"),
    ])
    func urlsLoseTheirUserAndQuery(url: String, shown: String) {
        #expect(URLText.redacted(url) == shown)
    }

    @Test func aYAMLSyntaxErrorSaysWhereNotWhat() {
        let text = "agent:\n  secret_access_key: wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY: oops\n"
        do {
            _ = try Yams.compose(yaml: text)
            Issue.record("accepted")
        } catch {
            let shown = YAMLErrorText.describe(error)
            #expect(shown.contains("line 2") && !shown.contains("wJalrXUtnFEMI"), "\(shown)")
        }
    }

    @Test func longValuesAreNotQuoted() {
        #expect(ConfigText.quoted("30sec") == "'30sec'")
        #expect(ConfigText.quoted("wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY") == "a 38-character value")
    }
}
