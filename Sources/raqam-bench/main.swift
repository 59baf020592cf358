import ArgumentParser

/// raqam's benchmark program: each figure beside a peer measured in the same run.
struct RaqamBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raqam-bench",
        abstract: "Measure raqam beside SQLite on this machine (see docs/performance.md).",
        subcommands: [AllBenchmarks.self, LogBenchmark.self, ProjectionsBenchmark.self, RulesBenchmark.self, DaemonBenchmark.self, HTTPBenchmark.self, EngineBenchmark.self, WebBenchmark.self, TortureCommand.self],
        defaultSubcommand: AllBenchmarks.self
    )
}

RaqamBench.main()
