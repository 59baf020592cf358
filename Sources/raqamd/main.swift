import ArgumentParser
import Journal

/// raqamd, the monitoring daemon. This first version answers --version and --help; the
/// service itself (ingest, evaluation, journal alerts) comes with the daemon issue.
struct Raqamd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raqamd",
        abstract: "The raqam monitoring daemon: single writer of the event log, rule evaluator and alerter.",
        discussion: "Not yet a service: this build answers --version and --help. Use raqamctl to append and query the log.",
        version: "0.1.0 (\(SystemdNotifier.libraryDescription))"
    )

    func run() throws {
        print("raqamd \(Self.configuration.version): the daemon's service loop is not built yet; see README.md")
    }
}

Raqamd.main()
