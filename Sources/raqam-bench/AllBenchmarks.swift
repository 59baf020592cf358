import ArgumentParser
import Foundation

/// Every benchmark in one run: the log and the projections beside SQLite, then rule evaluation
/// and raqamd (raqam alone). `--json` prints one JSON object per benchmark, one per line.
struct AllBenchmarks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "Run every benchmark (the default): log and projections beside SQLite, rules, raqamd, the engine's start-up and append.",
        discussion: """
            --quick is the smoke run of make test (about a minute: smaller sizes, and each \
            figure still a median after a warm-up); without it, the full sizes of \
            docs/performance.md (about 10 minutes and 7 GB of disk). The raqamd benchmark needs \
            a journald and the raqamd and raqamctl built beside this program.
            """
    )

    @Flag(help: "Smaller sizes, about a minute in all.") var quick = false
    @Flag(help: "One JSON object per benchmark, one per line.") var json = false
    @Option(help: "Directory for the stores (not a tmpfs: fsync would be free).") var dir: String = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"

    func run() throws {
        let common = json ? ["--json"] : []
        let log = try LogBenchmark.parse((quick ? ["--quick"] : []) + common + ["--dir", dir])
        try log.run()
        let projections = try ProjectionsBenchmark.parse((quick ? ["--events", "200000", "--runs", "5"] : []) + common + ["--dir", dir])
        try projections.run()
        let rules = try RulesBenchmark.parse((quick ? ["--entities", "2000", "--runs", "5"] : []) + common)
        try rules.run()
        let daemon = try DaemonBenchmark.parse((quick ? ["--seconds", "2", "--runs", "5", "--rate", "500", "--clients", "8"] : []) + common + ["--dir", dir])
        try daemon.run()
        let engine = try EngineBenchmark.parse((quick ? ["--sizes", "3000", "--append-events", "20000", "--runs", "1"] : []) + common + ["--dir", dir])
        try engine.run()
    }
}
