import ArgumentParser
import Foundation
import Glibc
import Synchronization

extension Torture {
    /// kill -9 of raqamd at a random instant while `reporters` clients append, `kills` times.
    /// Each reporter resends, with the same ids, what it sent and never saw acknowledged.
    mutating func daemonKills(_ kills: Int, reporters: Int) throws {
        print("kills: \(kills) × kill -9 of raqamd under \(reporters) reporters")
        let state = try freshState("kills")
        let acks = Acks()
        var group = Reporters(count: reporters, firstNumber: 0)
        var readySeconds: [Double] = []
        for round in 0..<kills {
            let d = try RunningDaemon(binDir: binDir, state: state, rules: rules, extraArguments: ["--config", state + "/raqamd.yaml"])
            readySeconds.append(d.secondsToReady)
            let delay = UInt32(rng.int(5_000...60_000))
            group.round(socketPath: d.socketPath, acks: acks) {
                usleep(delay)
                kill(d.pid, SIGKILL)
                d.process.waitUntilExit()
            }
            if round % 100 == 99 { print("  \(round + 1) kills, \(acks.byID.withLock { $0.count }) events acknowledged") }
        }
        let acknowledged = acks.byID.withLock { $0 }
        for d in acks.disagreements.withLock({ $0 }) { check(false, "kills: \(d)") }
        let kept = try checkAcknowledged(state, acknowledged, part: "kills")
        figure("raqamd kill -9s", "\(kills)")
        figure("events acknowledged across them", "\(acknowledged.count)")
        figure("acknowledged events kept under their seq", "\(kept) of \(acknowledged.count)")
        figure("resends answered 'duplicate' with the first seq", "\(acks.duplicates.load(ordering: .relaxed))")
        figure("raqamd start to READY after a kill, median", String(format: "%.0f ms", median(readySeconds) * 1000))
    }

    /// kill -9 of `raqamctl append --stream` at a random instant, `kills` times; each round
    /// resumes a little before the end of the log, as a reporter retrying would.
    mutating func appendKills(_ kills: Int) throws {
        print("append-kills: \(kills) × kill -9 of raqamctl append --stream")
        let state = try freshState("append-kills")
        let registered = try stored(state).count
        let lines = (0..<60_000).map { Self.event(reporter: 900, $0) }
        var acks: [String: Int] = [:]
        var disagreements = 0
        var appended = registered
        for _ in 0..<kills {
            let first = max(0, appended - registered - 20)
            let input = Array((lines[first...].joined(separator: "\n") + "\n").utf8)
            for (line, seq) in try appendAndKill(state, input: input, afterMicroseconds: UInt32(rng.int(20_000...200_000))) {
                let id = Self.id(of: lines[first + line - 1])
                if let earlier = acks[id], earlier != seq { disagreements += 1 }
                acks[id] = seq
            }
            // The next writer recovers the log; an empty append is one.
            let recover = try ctl(["append", "--state-dir", state, "--stream", "-"], stdin: [])
            check(recover.status == 0, "append-kills: the log did not open after a kill: \(recover.stderr)")
            appended = try stored(state).count
        }
        check(disagreements == 0, "append-kills: \(disagreements) ids acknowledged with two seqs")
        let kept = try checkAcknowledged(state, acks, part: "append-kills")
        figure("raqamctl append kill -9s", "\(kills)")
        figure("lines acknowledged, kept under their seq", "\(kept) of \(acks.count)")
    }

    /// One `raqamctl append --stream` fed `input` a little at a time and killed after
    /// `delay` µs; the (line, seq) pairs it acknowledged on stdout before it died.
    func appendAndKill(_ state: String, input: [UInt8], afterMicroseconds delay: UInt32) throws -> [(line: Int, seq: Int)] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDir + "/raqamctl")
        p.arguments = ["append", "--state-dir", state, "--stream", "--durability", "always", "-"]
        p.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
        let stdin = Pipe(), stdout = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = FileHandle.nullDevice
        try p.run()
        let finished = DispatchGroup()
        finished.enter()
        Thread {
            var offset = 0
            let fd = stdin.fileHandleForWriting.fileDescriptor
            signal(SIGPIPE, SIG_IGN)
            while offset < input.count {
                let end = min(input.count, offset + 4096)
                let n = input[offset..<end].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                offset += n
                usleep(500)
            }
            try? stdin.fileHandleForWriting.close()
            finished.leave()
        }.start()
        let collected = Mutex<Data>(Data())
        finished.enter()
        Thread {
            let d = stdout.fileHandleForReading.readDataToEndOfFile()
            collected.withLock { $0 = d }
            finished.leave()
        }.start()
        usleep(delay)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        finished.wait()
        let text = String(decoding: collected.withLock { $0 }, as: UTF8.self)
        // Only whole lines count: a line cut by the kill was not read by the reporter.
        let whole = text.hasSuffix("\n") ? text.split(separator: "\n") : text.split(separator: "\n").dropLast()
        return whole.compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let l = o["line"] as? Int, let s = o["seq"] as? Int else { return nil }
            return (l, s)
        }
    }
}

extension Torture {
    /// Reporter threads, round after round: what each sent and never saw acknowledged (resent
    /// first next round, with the same ids) and its next new number.
    struct Reporters {
        private var resend: [[Int]]
        private var next: [Int]
        private let firstNumber: Int

        /// `count` reporters numbered from `firstNumber` (their events' ids differ by it).
        init(count: Int, firstNumber: Int) {
            resend = Array(repeating: [], count: count)
            next = Array(repeating: 0, count: count)
            self.firstNumber = firstNumber
        }

        /// Runs every reporter against raqamd at `socketPath` while `during` runs (it ends or
        /// stops raqamd), then stops them and keeps what each still owes.
        mutating func round(socketPath: String, acks: Acks, during: () -> Void) {
            let stop = Atomic<Bool>(false)
            let results = Mutex<[Int: ([Int], Int)]>([:])
            let done = DispatchGroup()
            for r in resend.indices {
                let (again, from, number) = (resend[r], next[r], firstNumber + r)
                done.enter()
                Thread {
                    let outcome = Torture.report(socketPath: socketPath, reporter: number, resend: again, next: from, acks: acks, stop: stop)
                    results.withLock { $0[r] = outcome }
                    done.leave()
                }.start()
            }
            during()
            stop.store(true, ordering: .relaxed)
            done.wait()
            for (r, outcome) in results.withLock({ $0 }) { (resend[r], next[r]) = outcome }
        }
    }
}
