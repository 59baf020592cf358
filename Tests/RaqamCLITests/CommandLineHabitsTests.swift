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
