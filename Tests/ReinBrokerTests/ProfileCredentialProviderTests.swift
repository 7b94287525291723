import Foundation
import Testing
@testable import ReinBroker

/// Shared credentials and config files: section naming, precedence, and errors.
struct ProfileCredentialProviderTests {
    let credentials = """
        # comment line
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = default-secret

        [dev]
        aws_access_key_id=AKIDDEVCREDS
        aws_secret_access_key = dev#secret;with=chars
        aws_session_token = dev-token
        """
    let config = """
        [default]
        region = us-east-1
        [profile dev]
        aws_access_key_id = AKIDDEVCONFIG
        region = eu-west-1
        [profile ops]
        aws_access_key_id = AKIDOPS
        aws_secret_access_key = ops-secret
        s3 =
          max_concurrent_requests = 20
        [plain]
        aws_access_key_id = AKIDPLAINSECTION
        aws_secret_access_key = plain-secret
        [profile chained]
        role_arn = arn:aws:iam::123456789012:role/x
        source_profile = default
        """

    func provider(_ profile: String?, env extra: [String: String] = [:]) throws -> (ProfileCredentialProvider, TempDir) {
        let dir = try TempDir()
        var env = ["AWS_SHARED_CREDENTIALS_FILE": try dir.write("credentials", credentials),
                   "AWS_CONFIG_FILE": try dir.write("config", config)]
        env.merge(extra) { _, new in new }
        return (ProfileCredentialProvider(profile: profile, environment: env), dir)
    }

    @Test func credentialsFileWinsOverConfigForTheSameProfile() throws {
        let (p, dir) = try provider("dev")
        let creds = try p.fetch(now: Date())
        #expect(creds.accessKeyId == "AKIDDEVCREDS")
        #expect(creds.credentials.secretAccessKey == "dev#secret;with=chars")
        #expect(creds.credentials.sessionToken == "dev-token")
        #expect(creds.expiration == nil)
        _ = dir
    }

    @Test func configFileSectionsNeedTheProfilePrefix() throws {
        let (ops, dir) = try provider("ops")
        #expect(try ops.fetch(now: Date()).accessKeyId == "AKIDOPS")
        // `[plain]` in the config file is not the profile "plain".
        let (plain, _) = try provider("plain")
        let error = #expect(throws: BrokerError.self) { try plain.fetch(now: Date()) }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("[profile plain]") == true)
        _ = dir
    }

    @Test func profileComesFromTheEnvironmentThenDefault() throws {
        let (fromEnv, d1) = try provider(nil, env: ["AWS_PROFILE": "ops"])
        #expect(fromEnv.profile == "ops")
        let (fallback, d2) = try provider(nil)
        #expect(try fallback.fetch(now: Date()).accessKeyId == "AKIDDEFAULT")
        _ = (d1, d2)
    }

    @Test func missingProfileNamesBothFiles() throws {
        let (p, dir) = try provider("nope")
        let error = #expect(throws: BrokerError.self) { try p.fetch(now: Date()) }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("\"nope\"") == true)
        #expect(error?.message.contains(dir.path + "/credentials") == true)
        #expect(error?.message.contains(dir.path + "/config") == true)
    }

    @Test func chainingProfilesAreRefusedWithAPointerToAssumeRole() throws {
        let (p, dir) = try provider("chained")
        let error = #expect(throws: BrokerError.self) { try p.fetch(now: Date()) }
        #expect(error?.message.contains("assume_role") == true)
        #expect(error?.message.contains("role_arn") == true)
        _ = dir
    }

    @Test func defaultPathsAreUnderHome() {
        let p = ProfileCredentialProvider(profile: nil, environment: ["HOME": "/home/rein"])
        #expect(p.credentialsFile == "/home/rein/.aws/credentials")
        #expect(p.configFile == "/home/rein/.aws/config")
        #expect(p.profile == "default")
    }

    @Test func iniParserSkipsSubsectionsAndComments() {
        let file = SharedConfigFile(parsing: "; c\n[profile a]\nx = 1\ns3 =\n  y = 2\n\tz = 3\nw = 4\r\n[profile a]\nv = 5\n")
        #expect(file["profile a"] == ["x": "1", "s3": "", "w": "4", "v": "5"])
    }
}
