import Foundation
import RaqamTestSupport
import Testing

/// raqamctl read as a journalctl or promtool user reads it: shared options on either side of
/// the subcommand, a suggestion for a mistyped one, and a refusal that names the group needed.
@Suite struct CommandLineHabitsTests {
    @Test func sharedOptionsBeforeTheSubcommandMeanWhatTheyMeanAfterIt() throws {
        let dir = StateDirectory()
        try run("raqamctl", ["init", "--state-dir", dir.path])
        let after = try run("raqamctl", ["stats", "--state-dir", dir.path, "-o", "json"])
        let before = try run("raqamctl", ["--state-dir", dir.path, "-o", "json", "stats"])
        let joined = try run("raqamctl", ["--state-dir=\(dir.path)", "stats", "-o", "json"])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.stdout == after.stdout)
        #expect(joined.stdout == after.stdout)
        #expect(after.stdout.contains("\"events\""))
        // Nested: the options go after the whole path.
        let nested = try run("raqamctl", ["--state-dir", dir.path, "tokens", "list"])
        #expect(nested.status == 0, "\(nested.stderr)")
    }

    @Test func aMistypedSubcommandGetsTheNearestNamesAndExit64() throws {
        let top = try run("raqamctl", ["evnts", "--since", "today"])
        #expect(top.status == 64)
        #expect(top.stderr.contains(#""evnts" is not a subcommand; did you mean "events"?"#), "\(top.stderr)")
        #expect(top.stdout.isEmpty)
        let nested = try run("raqamctl", ["rules", "chek", "rules/"])
        #expect(nested.status == 64)
        #expect(nested.stderr.contains(#"raqamctl rules: "chek" is not a subcommand; did you mean "check"?"#), "\(nested.stderr)")
        let far = try run("raqamctl", ["xyzzy"])
        #expect(far.status == 64)
        #expect(!far.stderr.contains("did you mean"))
        #expect(far.stderr.contains("The subcommands: init, demo, append, events"), "\(far.stderr)")
    }

    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// raqamctl on a terminal: script(1) gives it a pty; the pager is a sed that marks each line.
    func onTerminal(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let command = ([buildDirectory.appendingPathComponent("raqamctl").path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = ""  // set under swift test; empty is unset (no-color.org)
        env["TERM"] = "xterm"
        env["RAQAM_PAGER"] = "sed s/^/PAGED:/"
        env.merge(environment) { $1 }
        let r = try runProcess("/usr/bin/script", ["-qec", command, "/dev/null"], environment: env)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        return r.stdout
    }

    @Test func onATerminalListingsGoThroughThePagerUnlessNoPagerOrAPipe() throws {
        let dir = StateDirectory()
        try run("raqamctl", ["init", "--state-dir", dir.path])
        let paged = try onTerminal(["stats", "--state-dir", dir.path])
        #expect(paged.split(separator: "\n").allSatisfy { $0.hasPrefix("PAGED:") }, "\(paged)")
        #expect(paged.contains("PAGED:events         316"), "\(paged)")
        let unpaged = try onTerminal(["stats", "--state-dir", dir.path, "--no-pager"])
        #expect(!unpaged.contains("PAGED:") && unpaged.contains("316"), "\(unpaged)")
        // Not a terminal: never paged, whatever the pager says.
        let piped = try run("raqamctl", ["stats", "--state-dir", dir.path], environment: ["RAQAM_PAGER": "sed s/^/PAGED:/"])
        #expect(!piped.stdout.contains("PAGED:") && piped.stdout.contains("316"))
        // A command that reports work done is not paged.
        let rules = try onTerminal(["rules", "check", root.path + "/rules/districts.yaml"])
        #expect(!rules.contains("PAGED:"), "\(rules)")
    }

    @Test func severitiesAreColouredOnATerminalOnlyAndNotUnderNoColor() throws {
        let dir = StateDirectory()
        try run("raqamctl", ["init", "--state-dir", dir.path])
        let arguments = ["lagging", "--state-dir", dir.path, "--rules", root.path + "/rules/districts.yaml", "--clock", "events", "--at", "2021-06-30", "--no-pager"]
        let coloured = try onTerminal(arguments)
        #expect(coloured.contains("\u{1B}[33m  district:1703202  DistrictSilent"), "\(coloured.prefix(300))")
        let plain = try onTerminal(arguments, environment: ["NO_COLOR": "1"])
        #expect(!plain.contains("\u{1B}[") && plain.contains("district:1703202  DistrictSilent"), "\(plain.prefix(300))")
        let piped = try run("raqamctl", arguments)
        #expect(!piped.stdout.contains("\u{1B}[") && piped.stdout.contains("DistrictSilent"))
    }

    @Test func longWorkDrawsAProgressLineOnATerminalOnly() throws {
        let dir = StateDirectory()
        try run("raqamctl", ["init", "--state-dir", dir.path])
        let file = dir.path + "/many.ndjson"
        try Data(ndjson(0..<20_000)).write(to: URL(fileURLWithPath: file))
        let shown = try onTerminal(["append", "--state-dir", dir.path, file], environment: ["RAQAM_PROGRESS_AFTER": "0"])
        #expect(shown.contains("checking \(file): "), "\(shown.prefix(400))")
        #expect(shown.contains("appending \(file): ") && shown.contains("/s, ") && shown.contains(" left"), "\(shown.prefix(400))")
        #expect(shown.contains("appended 20000 events (seq 317…20316)"), "\(shown.suffix(300))")
        let replayed = try onTerminal(["replay", "--state-dir", dir.path, "--no-snapshots"], environment: ["RAQAM_PROGRESS_AFTER": "0"])
        #expect(replayed.contains("replaying: "), "\(replayed.prefix(400))")
        let lagging = try onTerminal(["lagging", "--state-dir", dir.path, "--rules", root.path + "/rules/districts.yaml", "--clock", "events",
                                      "--at", "2021-06-30", "--no-snapshot", "--no-pager"], environment: ["RAQAM_PROGRESS_AFTER": "0"])
        #expect(lagging.contains("evaluating the rules over the log: "), "\(lagging.prefix(400))")
        // Into a pipe: the report alone.
        let piped = try run("raqamctl", ["replay", "--state-dir", dir.path, "--no-snapshots"], environment: ["RAQAM_PROGRESS_AFTER": "0"])
        #expect(!piped.stderr.contains("replaying") && !piped.stdout.contains("replaying:"), "\(piped.stderr)")
    }

    @Test func aUsageErrorFoundWhileRunningShowsTheSubcommandsUsageAndExits64() throws {
        let dir = StateDirectory()
        let token = dir.path + "/token"
        try "rq_placeholder\n".write(toFile: token, atomically: true, encoding: .utf8)
        let r = try run("raqamctl", ["append", "--stream", "--server", "http://127.0.0.1:1", "--token-file", token, "-"], stdin: [])
        #expect(r.status == 64)
        #expect(r.stderr.contains("Error: --server sends whole files"), "\(r.stderr)")
        #expect(r.stderr.contains("Usage: raqamctl append ") && r.stderr.contains("See 'raqamctl append --help'"), "\(r.stderr)")
        let issue = try run("raqamctl", ["tokens", "issue", "Atlantis", "--role", "report", "--state-dir", dir.path])
        #expect(issue.status == 64)
        #expect(issue.stderr.contains(#"no entity is called "Atlantis""#) && issue.stderr.contains("Usage: raqamctl tokens issue "), "\(issue.stderr)")
    }

    /// `nobody` (setpriv drops root) may neither enter the state directory nor connect to the
    /// socket: each refusal says which group would let it, and nothing is appended.
    @Test func aUserWithoutTheRightIsRefusedNamingTheGroupAndNothingIsStored() throws {
        let d = try DaemonProcess(rules: [DaemonProcessTests().districtRules])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        try FileManager.default.setAttributes([.posixPermissions: 0o750], ofItemAtPath: d.dir.path)
        let asNobody = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", buildDirectory.appendingPathComponent("raqamctl").path]
        let read = try runProcess("/usr/bin/setpriv", asNobody + ["events", "--state-dir", d.dir.path, "--socket", d.socketPath])
        #expect(read.status == 74)
        #expect(read.stderr.contains("permission denied on \(d.dir.path): to read the log, be a member of its group (raqam-read"), "\(read.stderr)")
        let before = try storedEvents(d.dir.path).count
        let append = try runProcess("/usr/bin/setpriv", asNobody + ["append", "--state-dir", d.dir.path, "--socket", d.socketPath, "-"],
                                    stdin: Array((projectEvent(1) + "\n").utf8))
        #expect(append.status == 74)
        #expect(append.stderr.contains("permission denied on raqamd's control socket \(d.socketPath): to append (nothing was appended), be a member of its group (raqam"), "\(append.stderr)")
        #expect(try storedEvents(d.dir.path).count == before)
    }
}
