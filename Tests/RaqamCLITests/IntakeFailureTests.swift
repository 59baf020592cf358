import Foundation
import Glibc
import RaqamSystem
import Testing

/// Intake that dies takes raqamd down loudly: with too few file descriptors for its clients,
/// accept fails (EMFILE), the control socket service ends, and raqamd exits non-zero with the
/// reason in the journal, instead of staying "ready" while nobody can report.
@Suite(.serialized) struct IntakeFailureTests {
    @Test func runningOutOfFileDescriptorsEndsRaqamdWithTheReasonInTheJournal() throws {
        #expect(journaldRunning)
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        let config = dir.path + "/raqamd.yaml"
        try "max_clients: 500\n".write(toFile: config, atomically: true, encoding: .utf8)
        let notify = NotifySocket(directory: dir.path)
        let socketPath = dir.path + "/raqamd.sock"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        p.arguments = ["--nofile=48:48", buildDirectory.appendingPathComponent("raqamd").path, "--config", config,
                       "--state-dir", dir.path, "--socket", socketPath, "--rules", DaemonProcessTests().districtRules, "--http-listen", ""]
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = notify.path
        env["SWIFT_BACKTRACE"] = "enable=no"
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let ready = notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        #expect(ready.contains { $0.1.contains("READY=1") })
        // More clients than descriptors; each holds its connection open.
        var clients: [UnixSocket] = []
        for _ in 0..<80 where p.isRunning {
            // A refused connection is what the test provokes: it counts only while raqamd runs.
            if let c = try? UnixSocket(connectingTo: socketPath) { clients.append(c) }
        }
        // raqamd ends by itself (the wait is bounded: the test fails rather than hangs).
        var waited = 0
        while p.isRunning && waited < 300 { usleep(100_000); waited += 1 }
        #expect(!p.isRunning, "raqamd kept running without intake")
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        let entries = try journalEntries(["SYSLOG_IDENTIFIER=raqamd", "_PID=\(p.processIdentifier)", "PRIORITY=2"])
        let messages = entries.compactMap { $0["MESSAGE"] as? String }
        #expect(messages.contains { $0.contains("stopped accepting connections: accept: Too many open files") }, "\(messages)")
    }
}
