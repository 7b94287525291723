import ArgumentParser
import Foundation

/// A problem fixed outside the command line (a configuration file, a busy
/// port), said once as `rein: …`.
///
/// Why not `ValidationError`: ArgumentParser follows that with the usage
/// text and exit 64 (a wrong command line), which sends an operator to the
/// flags when the file or the machine is at fault.
enum CommandFailure {
    /// The configuration is wrong: exit 78 (`EX_CONFIG`, sysexits.h).
    static func configuration(_ message: String) -> ExitCode {
        say(message)
        return ExitCode(78)
    }

    /// An input file holds something it must not (a torn or foreign line):
    /// exit 65 (`EX_DATAERR`, sysexits.h).
    static func data(_ message: String) -> ExitCode {
        say(message)
        return ExitCode(65)
    }

    /// Anything else that stops the command (a service that cannot start,
    /// a file it cannot read, a collector's refusal): exit 1.
    static func failed(_ message: String) -> ExitCode {
        say(message)
        return ExitCode(1)
    }

    /// `error` in its own words (a collector's refusal, an unreachable
    /// collector): exit 1.
    static func failed(_ error: any Error) -> ExitCode {
        failed("\(error)")
    }

    private static func say(_ message: String) {
        FileHandle.standardError.write(Data("rein: \(message)\n".utf8))
    }
}
