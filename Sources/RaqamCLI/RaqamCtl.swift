public import ArgumentParser

/// `raqamctl`: appends to, reads, checks and describes a raqam event log.
public struct RaqamCtl: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "raqamctl",
        abstract: "Append to, query and verify the raqam event log of the Digital Uzbekistan 2030 monitor; check, test and run its rules.",
        discussion: """
            The log lives in the state directory (--state-dir, or RAQAM_STATE_DIR, default \
            /var/lib/raqam). Commands that write take the log's writer lock; commands that read \
            run beside a writer.

            Exit codes: 0 ok; 1 findings (verify found damage, rules check a problem or lint, \
            rules test a failure); 64 usage error (EX_USAGE, with the subcommand's usage); 65 bad input data (nothing was appended; a \
            broken rule set for lagging); 74 I/O error (permissions, full disk, a damaged or \
            locked log).
            """,
        version: RaqamVersion.string,
        subcommands: [InitCommand.self, DemoCommand.self, AppendCommand.self, EventsCommand.self, ShowCommand.self, SummaryCommand.self, LaggingCommand.self, AlertsCommand.self, StatusCommand.self, ReloadCommand.self, ReplayCommand.self, RulesCommand.self, VerifyCommand.self, StatsCommand.self, TokensCommand.self, ExplainCommand.self]
    )

    public init() {}
}

/// The version of raqam, printed by `--version` of both binaries.
public enum RaqamVersion {
    public static let string = "0.1.0"
}
