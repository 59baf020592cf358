import ArgumentParser
import Foundation
import Glibc

/// `raqam-bench torture` (`make torture`): raqam broken on purpose the way its users' worst
/// days will break it, with the figures of what held. Not a benchmark and not part of
/// `make test`: minutes long, and every part is also a regression test in `FaultTests`.
struct TortureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "torture",
        abstract: "Break raqam on purpose (kill -9, damage, a full disk, bad input, socket abuse) and print what held.",
        discussion: """
            Parts (all by default; --part picks some): kills (kill -9 of raqamd under concurrent \
            reporters, who resend what was not acknowledged), append-kills (kill -9 of \
            raqamctl append --stream), damage (a torn write at every offset of the last frame, \
            random bit flips in the last frames and earlier records), disk (raqamd on a full \
            tmpfs under reporters, needs root), input (the bad-input table through raqamctl \
            append and through the socket), sockets (over-long lines, stalled and silent \
            connections beside a reporter whose ack latency is measured, SIGHUP storms under \
            load). Exits 1 when anything did not hold, naming it.
            """)

    @Option(help: "The folder with raqamd and raqamctl (a release build).") var binDir = ".build/release"
    @Option(help: "The rules raqamd runs.") var rules = "rules"
    @Option(help: "A scratch folder (a fresh one under /tmp by default).") var dir: String?
    @Option(help: "kill -9s of raqamd.") var kills = 1_000
    @Option(help: "Concurrent reporters during the kills.") var reporters = 8
    @Option(help: "kill -9s of raqamctl append.") var appendKills = 100
    @Option(help: "Random bit flips.") var flips = 220
    @Option(help: "Stalled connections beside the measured reporter.") var stalled = 500
    @Option(help: "Seed of the random choices.") var seed: UInt64 = 12
    @Option(parsing: .upToNextOption, help: "Parts to run: kills, append-kills, damage, disk, input, sockets.") var part: [String] = []

    func run() throws {
        let parts = part.isEmpty ? ["kills", "append-kills", "damage", "disk", "input", "sockets"] : part
        for p in parts where !["kills", "append-kills", "damage", "disk", "input", "sockets"].contains(p) {
            throw ValidationError("--part \(p): the parts are kills, append-kills, damage, disk, input, sockets")
        }
        guard FileManager.default.isExecutableFile(atPath: binDir + "/raqamd") else {
            throw ValidationError("\(binDir)/raqamd is missing: build it (swift build -c release) or give --bin-dir")
        }
        let scratch = dir ?? NSTemporaryDirectory() + "raqam-torture-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        var t = Torture(binDir: binDir, rules: rules, scratch: scratch, seed: seed)
        let started = now()
        for p in parts {
            let t0 = now()
            switch p {
            case "kills": try t.daemonKills(kills, reporters: reporters)
            case "append-kills": try t.appendKills(appendKills)
            case "damage": try t.damage(flips: flips)
            case "disk": try t.fullDisk(reporters: reporters)
            case "input": try t.badInput()
            default: try t.socketAbuse(stalled: stalled)
            }
            print(String(format: "  (%@: %.0f s)", p, now() - t0))
        }
        print("")
        print("figure                                                     value")
        for (name, value) in t.figures { print(name.padding(toLength: 58, withPad: " ", startingAt: 0) + " " + value) }
        print(String(format: "\n%d checks, %d failed, %.0f s", t.checks, t.failures.count, now() - started))
        for f in t.failures.prefix(50) { print("FAILED  \(f)") }
        if dir == nil { try? FileManager.default.removeItem(atPath: scratch) }
        if !t.failures.isEmpty { throw ExitCode(1) }
    }
}
