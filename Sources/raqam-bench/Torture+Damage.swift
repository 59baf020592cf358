import ArgumentParser
import Foundation
import Glibc
import Synchronization

extension Torture {
    /// Where each record of a segment file starts, and how many bytes its checksum covers.
    static func frames(_ bytes: [UInt8]) -> [(start: Int, covered: Int)] {
        var out: [(Int, Int)] = []
        var o = 128  // the segment header
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        while o + 88 <= bytes.count, u32(o) == 0x3145_5152 {
            let length = u32(o + 8)
            out.append((o, 88 + length))
            o += (88 + length + 7) & ~7
        }
        return out
    }

    func activeSegment(_ state: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: state + "/events").filter { $0.hasSuffix(".seg") }.sorted()
        return state + "/events/" + names.last!
    }

    func removeQuarantine(_ state: String) throws {
        for n in try FileManager.default.contentsOfDirectory(atPath: state + "/events") where n.contains(".quarantine-") {
            try FileManager.default.removeItem(atPath: state + "/events/" + n)
        }
    }

    /// A torn write at every offset of the last frame, then random bit flips in the last
    /// frames and in earlier records.
    mutating func damage(flips: Int) throws {
        print("damage: a torn write at every offset of the last frame, \(flips) bit flips")
        let state = try freshState("damage")
        let appended = try ctl(["append", "--state-dir", state, "-"], stdin: Array(((0..<50).map { Self.event(reporter: 901, $0) }.joined(separator: "\n") + "\n").utf8))
        guard appended.status == 0 else { throw ValidationError("damage: append failed: \(appended.stderr)") }
        let segment = try activeSegment(state)
        let pristine = [UInt8](FileManager.default.contents(atPath: segment)!)
        let frames = Self.frames(pristine)
        let total = try stored(state).count
        let last = frames[frames.count - 1]

        // The last record reached the disk only up to `offset` bytes. Where the bytes lost
        // differ from zeros in one bit only, the tear is also a one-bit flip of a whole record:
        // the writer must refuse it as damage (the safe side; docs/event-log.md).
        var recovered = 0, quarantined = 0, oneBit = 0, oneBitRefused = 0
        for offset in 1..<last.covered {
            var bytes = pristine
            for i in (last.start + offset)..<(last.start + last.covered) { bytes[i] = 0 }
            _ = FileManager.default.createFile(atPath: segment, contents: Data(bytes))
            if pristine[(last.start + offset)..<(last.start + last.covered)].reduce(0, { $0 + $1.nonzeroBitCount }) == 1 {
                oneBit += 1
                let open = try ctl(["append", "--state-dir", state, "--stream", "-"], stdin: [])
                if open.status == 74 && [UInt8](FileManager.default.contents(atPath: segment)!) == bytes { oneBitRefused += 1 } else {
                    check(false, "damage: a tear at \(offset) one bit from whole was not refused (\(open.status))")
                }
                checks += 1
                continue
            }
            let verify = try ctl(["verify", "--state-dir", state])
            check(verify.status == 0 && verify.stdout.contains("unfinished bytes"), "damage: torn at \(offset): verify said \(verify.status): \(verify.stdout.suffix(200))")
            let open = try ctl(["append", "--state-dir", state, "--stream", "-"], stdin: [])
            if open.status == 0 && open.stderr.contains("recovered a torn tail") { recovered += 1 } else {
                check(false, "damage: torn at \(offset): the writer said \(open.status): \(open.stderr.suffix(200))")
            }
            let kept = try FileManager.default.contentsOfDirectory(atPath: state + "/events").filter { $0.contains(".quarantine-") }
            if let q = kept.first, let cut = FileManager.default.contents(atPath: state + "/events/" + q),
               [UInt8](cut) == Array(bytes[last.start..<(last.start + cut.count)]) { quarantined += 1 } else {
                check(false, "damage: torn at \(offset): no quarantine file with the bytes cut")
            }
            let whole = ((try? stored(state).count) == total - 1) && ((try? ctl(["verify", "--state-dir", state]).status) == 0)
            check(whole, "damage: torn at \(offset): the log is not whole after recovery")
            try removeQuarantine(state)
        }
        figure("torn writes of the last frame (every offset)", "\(last.covered - 1)")
        figure("recovered as torn tails, bytes kept in quarantine", "\(min(recovered, quarantined)) of \(last.covered - 1 - oneBit)")
        figure("tears one bit from a whole record, refused as damage", "\(oneBitRefused) of \(oneBit)")

        // Bit flips: in the last three frames (what recovery could mistake for a torn write),
        // and anywhere in earlier records.
        var caught = 0, refused = 0, untouched = 0
        for n in 0..<flips {
            let frame = n % 2 == 0 ? frames[frames.count - 1 - rng.int(0...2)] : frames[rng.int(0...(frames.count - 4))]
            let at = frame.start + rng.int(0...(frame.covered - 1))
            let bit = UInt8(1) << UInt8(rng.int(0...7))
            var bytes = pristine
            bytes[at] ^= bit
            _ = FileManager.default.createFile(atPath: segment, contents: Data(bytes))
            let verify = try ctl(["verify", "--state-dir", state])
            if verify.status == 1 && verify.stdout.contains("DAMAGED") { caught += 1 } else {
                check(false, "damage: a flip of bit \(bit) at offset \(at) was not caught by verify: \(verify.stdout.suffix(200))")
            }
            let open = try ctl(["append", "--state-dir", state, "--stream", "-"], stdin: [])
            if open.status == 74 { refused += 1 } else { check(false, "damage: a flip at offset \(at): the writer opened the log (\(open.status)): \(open.stderr.suffix(200))") }
            if [UInt8](FileManager.default.contents(atPath: segment)!) == bytes { untouched += 1 } else {
                check(false, "damage: a flip at offset \(at): the segment was rewritten")
            }
            checks += 3
        }
        _ = FileManager.default.createFile(atPath: segment, contents: Data(pristine))
        figure("bit flips caught by verify (exit 1)", "\(caught) of \(flips)")
        figure("bit flips the writer refused to open (exit 74)", "\(refused) of \(flips)")
        figure("damaged segments left byte for byte as they were", "\(untouched) of \(flips)")
    }

    /// raqamd on a tmpfs that fills while reporters append; killed, the disk freed, started
    /// again: nothing acknowledged is lost.
    mutating func fullDisk(reporters: Int) throws {
        print("disk: raqamd on a tmpfs that fills while \(reporters) reporters append")
        let mount = scratch + "/disk"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let mounted = try runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=80m", "raqam-torture", mount])
        guard mounted.status == 0 else {
            check(false, "disk: cannot mount a tmpfs (needs root): \(mounted.stderr)")
            return
        }
        defer { _ = try? runTool("/bin/umount", [mount]) }
        let state = mount + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        guard try ctl(["init", "--state-dir", state]).status == 0 else { throw ValidationError("disk: init failed") }
        try "snapshot_every: 500\n".write(toFile: state + "/raqamd.yaml", atomically: true, encoding: .utf8)
        let acks = Acks()
        var group = Reporters(count: reporters, firstNumber: 100)
        for round in 0..<6 {
            let d = try RunningDaemon(binDir: binDir, state: state, rules: rules, extraArguments: ["--config", state + "/raqamd.yaml"])
            if round == 1 {
                // The disk fills up while raqamd runs.
                _ = try runTool("/bin/dd", ["if=/dev/zero", "of=\(mount)/filler", "bs=64k"])
                _ = try runTool("/bin/dd", ["if=/dev/zero", "of=\(mount)/filler2", "bs=4k"])
            }
            if round == 4 { try FileManager.default.removeItem(atPath: mount + "/filler") }
            group.round(socketPath: d.socketPath, acks: acks) {
                usleep(1_000_000)
                kill(d.pid, round % 2 == 0 ? SIGKILL : SIGTERM)
                d.process.waitUntilExit()
            }
        }
        let acknowledged = acks.byID.withLock { $0 }
        for d in acks.disagreements.withLock({ $0 }) { check(false, "disk: \(d)") }
        let kept = try checkAcknowledged(state, acknowledged, part: "disk")
        figure("full disk: events acknowledged, kept under their seq", "\(kept) of \(acknowledged.count)")
    }
}
