import Foundation
import RaqamTestSupport
import Testing

/// The unit file as systemd itself reads it: `systemd-analyze verify` and the offline
/// security review.
@Suite struct SystemdUnitTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The unit with ExecStart pointing at the raqamd just built (verify checks that the
    /// binary exists and is executable).
    func unitBesideBuiltBinary() throws -> (StateDirectory, String) {
        let dir = StateDirectory()
        let text = try String(contentsOf: root.appendingPathComponent("systemd/raqamd.service"), encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/", with: buildDirectory.path + "/")
            .replacingOccurrences(of: "/usr/local/sbin/", with: buildDirectory.path + "/")
        let path = dir.path + "/raqamd.service"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return (dir, path)
    }

    /// systemd-analyze's status and everything it printed (it warns on standard error).
    func systemdAnalyze(_ args: [String]) throws -> (Int32, String) {
        let r = try runProcess("/usr/bin/systemd-analyze", args)
        return (r.status, r.stderr + r.stdout)
    }

    @Test func theUnitPassesSystemdAnalyzeVerifyWithNoOutput() throws {
        let (dir, unit) = try unitBesideBuiltBinary()
        _ = dir
        // The man pages its Documentation= names are checked where the package installs
        // them (make systemd-e2e verifies the installed unit with --man=yes).
        let (status, output) = try systemdAnalyze(["verify", "--man=no", unit])
        #expect(status == 0)
        #expect(output.isEmpty, "systemd-analyze verify said: \(output)")
    }

    @Test func theUnitScoresAtMostTwoInTheSecurityReview() throws {
        let (dir, unit) = try unitBesideBuiltBinary()
        _ = dir
        let (_, output) = try systemdAnalyze(["security", "--offline=yes", unit])
        let line = try #require(output.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) })
        #expect(score <= 2.0, "\(line)")
    }
}
