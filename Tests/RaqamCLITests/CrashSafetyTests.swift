import Foundation
import Glibc
import Synchronization
import RaqamTestSupport
import Testing

@Suite(.serialized) struct CrashSafetyTests {
    /// A real `raqamctl append --stream` appends with policy `always` and is SIGKILLed at a
    /// random instant, 50 times over. After each kill: every event it acknowledged is in the
    /// log under the acknowledged seq, the log is an in-order prefix of the input, and
    /// `raqamctl verify` passes once the log is recovered.
    @Test func killedAppenderLosesNoAcknowledgedEventAndLeavesAVerifiablePrefix() throws {
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        let inputCount = 10_000
        let input = ndjson(0..<inputCount)
        var lines = [Int]()  // byte offset where each input line starts
        var o = 0
        for (i, b) in input.enumerated() where b == 0x0A { lines.append(o); o = i + 1 }
        let registered = 316
        var rng = SeededGenerator(seed: 0x5EED)
        var acknowledgedTotal = 0, kills = 0, roundsThatGrew = 0, lastCount = 0

        for round in 0..<50 {
            // Resume a little before the end of the log, as a reporter retrying would: the
            // overlap must come back as duplicates with their original seqs.
            let first = max(0, lastCount - 20)
            let acks = try appendAndKill(dir.path, input: Array(input[lines[first]...]), afterMicroseconds: UInt32.random(in: 0...150_000, using: &rng),
                                         afterAcks: lastCount - first + 1)
                .map { (line: first + $0.line, seq: $0.seq) }
            kills += 1
            acknowledgedTotal += acks.count

            // Recovery happens when a writer opens the log; `append` of nothing valid does it.
            let recover = try run("raqamctl", ["append", "--state-dir", dir.path, "--stream", "-"], stdin: [])
            #expect(recover.status == 0, "round \(round): \(recover.stderr)")
            let verify = try run("raqamctl", ["verify", "--state-dir", dir.path])
            #expect(verify.status == 0, "round \(round): \(verify.stdout)")

            let stored = try storedEvents(dir.path)
            let appended = stored.dropFirst(registered)
            // An in-order prefix of the input, with gap-free seqs.
            for (i, e) in appended.enumerated() {
                #expect(e["id"] as? String == String(format: "00000000-0000-4000-8000-%012d", i), "round \(round): event \(i) out of order")
                #expect(e["seq"] as? Int == registered + i + 1)
            }
            // Every acknowledged event is there, under the seq it was acknowledged with.
            for (line, seq) in acks {
                #expect(seq == registered + line, "round \(round): line \(line) acknowledged as seq \(seq)")
                #expect(appended.count >= line, "round \(round): acknowledged line \(line) is missing (log holds \(appended.count))")
            }
            if appended.count > lastCount { roundsThatGrew += 1 }
            lastCount = appended.count
        }
        print("crash safety: \(kills) kills, \(acknowledgedTotal) acknowledgements read, the log grew in \(roundsThatGrew) rounds to \(lastCount) of \(inputCount) events")
        #expect(kills == 50)
        // On a fast machine the input may be all stored in fewer rounds; the later ones then
        // kill appends that find every line a duplicate (checked above all the same).
        #expect(roundsThatGrew >= 10 || lastCount == inputCount, "too few rounds appended anything before the kill")
        #expect(acknowledgedTotal > 0, "no append was acknowledged before a kill: the delays are too short for this machine")

        // Finish the input without a kill: the whole of it, once.
        let finish = try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: input)
        #expect(finish.status == 0)
        #expect(try storedEvents(dir.path).count == registered + inputCount)
        #expect(try run("raqamctl", ["verify", "--state-dir", dir.path]).status == 0)
    }

    /// Starts `raqamctl append --stream -`, feeds it `input`, SIGKILLs it after the delay, and
    /// returns the (line, seq) pairs it acknowledged on stdout before it died.
    /// Streams `input` into `raqamctl append`, and SIGKILLs it `delay` µs after its
    /// `afterAcks`-th acknowledgement (the first of an event not stored before: a loaded
    /// machine that is slow to get going must not make every round a kill before anything new).
    func appendAndKill(_ stateDir: String, input: [UInt8], afterMicroseconds delay: UInt32, afterAcks: Int = 1) throws -> [(line: Int, seq: Int)] {
        let p = Process()
        p.executableURL = buildDirectory.appendingPathComponent("raqamctl")
        p.arguments = ["append", "--state-dir", stateDir, "--stream", "--durability", "always", "-"]
        p.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
        let stdin = Pipe(), stdout = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = FileHandle.nullDevice
        try p.run()
        let feeder = Thread {
            // In small pieces, so appends are spread over time like a real reporter's.
            var offset = 0
            while offset < input.count {
                let end = min(input.count, offset + 4096)
                writeAll(stdin.fileHandleForWriting.fileDescriptor, Array(input[offset..<end]))
                offset = end
                usleep(500)
            }
            try? stdin.fileHandleForWriting.close()
        }
        feeder.start()
        let collected = Mutex<Data>(Data())
        let firstAck = DispatchSemaphore(value: 0)
        let reader = Thread {
            var signalled = false
            var acks = 0
            while true {
                let chunk = stdout.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                collected.withLock { $0.append(chunk) }
                acks += chunk.filter { $0 == 0x0A }.count
                if !signalled && acks >= afterAcks { signalled = true; firstAck.signal() }
            }
            if !signalled { firstAck.signal() }
        }
        reader.start()
        // The kill lands at a random instant after the appender got going.
        _ = firstAck.wait(timeout: .now() + 30)
        usleep(delay)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        while !feeder.isFinished { usleep(1000) }
        let text = String(decoding: collected.withLock { $0 }, as: UTF8.self)
        // Only whole lines count: a line cut by the kill was not read by the reporter.
        let lines = text.hasSuffix("\n") ? text.split(separator: "\n") : text.split(separator: "\n").dropLast()
        return lines.compactMap { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let l = obj["line"] as? Int, let s = obj["seq"] as? Int else { return nil }
            return (l, s)
        }
    }
}
