import Foundation

// Rein's benchmarks: they print figures and assert nothing about time.
// Run through Benchmarks/sigv4.sh and Benchmarks/catalog.sh (release builds).
let which = CommandLine.arguments.dropFirst().first ?? "sigv4"
switch which {
case "sigv4": runSigV4Benchmark()
case "catalog": runCatalogBenchmark()
case "policy": runPolicyBenchmark()
case "spool": runSpoolBenchmark()
case "collector": runCollectorBenchmark()
case "profile-catalog": profileCatalog(CommandLine.arguments.dropFirst(2).first ?? "s3")
default:
    FileHandle.standardError.write(Data("usage: rein-bench sigv4|catalog|policy|spool|collector\n".utf8))
    exit(2)
}
