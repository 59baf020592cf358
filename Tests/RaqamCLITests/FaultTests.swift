import Foundation
import Glibc
import RaqamSystem
import RaqamTestSupport
import Testing

/// The faults found by breaking raqam on purpose (issue 12), each reproduced against real
/// processes and files.
@Suite(.serialized) struct FaultTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The newest segment file of a state directory.
    func activeSegment(_ dir: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/events").filter { $0.hasSuffix(".seg") }.sorted()
        return dir + "/events/" + names.last!
    }

    /// The offset of the last occurrence of `text` in the file.
    func lastOffset(of text: String, in path: String) -> Int {
        let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let needle = Array(text.utf8)
        var i = bytes.count - needle.count
        while i >= 0 {
            if bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle { return i }
            i -= 1
        }
        return -1
    }

    func flipBit(_ path: String, at offset: Int, mask: UInt8) {
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[offset] ^= mask
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    @Test func bitFlipInTheLastAcknowledgedEventFailsVerifyAndNoWriterDiscardsIt() throws {
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        let appended = try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: ndjson(0..<3))
        #expect(appended.status == 0, "\(appended.stderr)")
        let segment = try activeSegment(dir.path)
        // The acknowledged last event's title, one bit changed on the disk.
        let at = lastOffset(of: "Project number 2", in: segment)
        #expect(at > 0)
        flipBit(segment, at: at + 3, mask: 0x10)
        let damaged = FileManager.default.contents(atPath: segment)

        let verify = try run("raqamctl", ["verify", "--state-dir", dir.path])
        #expect(verify.status == 1, "\(verify.stdout)")
        #expect(verify.stdout.contains("DAMAGED"))
        #expect(verify.stdout.contains("the last record is damaged, not torn"))
        #expect(verify.stdout.contains("offset \(at + 3)"), "\(verify.stdout)")

        // Neither a direct append nor raqamd recovers it away as a torn tail.
        let append = try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: ndjson(3..<4))
        #expect(append.status == 74)
        #expect(append.stderr.contains("the log refuses to write until this is repaired"), "\(append.stderr)")
        let daemon = try run("raqamd", ["--state-dir", dir.path, "--socket", dir.path + "/raqamd.sock", "--rules", root.path + "/rules"], environment: ["SWIFT_BACKTRACE": "enable=no"])
        #expect(daemon.status == 74)
        #expect(daemon.stderr.contains("the last record is damaged, not torn") || journaldRunning, "\(daemon.stderr)")
        if journaldRunning {
            let entries = try journalEntries(["MESSAGE_ID=2bb3dce006e9482b88ddd8e1d81d12e8", "RAQAM_LOG_SEGMENT=\(segment)"])
            #expect(entries.first?["RAQAM_LOG_OFFSET"] as? String != nil, "no journal entry for the damaged log")
        }
        #expect(FileManager.default.contents(atPath: segment) == damaged, "the damaged record was rewritten")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/events").allSatisfy { !$0.contains("quarantine") })
    }

    @Test func tornTailIsMovedToAQuarantineFileAndReported() throws {
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        #expect(try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: ndjson(0..<3)).status == 0)
        let segment = try activeSegment(dir.path)
        // A crash while the last record was being written: its bytes from the title on never
        // reached the disk.
        let at = lastOffset(of: "Project number 2", in: segment)
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        let kept = Array(bytes[..<at])
        for i in at..<(at + 200) { bytes[i] = 0 }
        _ = FileManager.default.createFile(atPath: segment, contents: Data(bytes))

        let append = try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: ndjson(2..<3))
        #expect(append.status == 0, "\(append.stderr)")
        #expect(append.stderr.contains("recovered a torn tail"), "\(append.stderr)")
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/events").filter { $0.contains(".quarantine-") }
        #expect(quarantined.count == 1)
        let cut = [UInt8](FileManager.default.contents(atPath: dir.path + "/events/" + quarantined[0]) ?? Data())
        #expect(!cut.isEmpty && kept.suffix(cut.count) == cut[...], "the quarantine file holds other bytes than were cut")
        #expect(append.stderr.contains(quarantined[0]))
        #expect(try run("raqamctl", ["verify", "--state-dir", dir.path]).status == 0)
        // The event whose append was torn was re-sent and is stored once.
        #expect(try storedEvents(dir.path).filter { ($0["id"] as? String)?.hasSuffix("000000000002") == true }.count == 1)
    }

    static func economy(_ volume: String) -> String {
        #"{"type":"economy.reported","subject":"nation","occurred_at":"2021-06-30T10:00:00+05:00","data":{"period":"2021-H1","services_volume_uzs":\#(volume)}}"#
    }

    @Test func numbersOutOfRangeNameTheirFieldAndAByteOrderMarkIsAccepted() throws {
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        // Directly: a file with a byte order mark, two numbers no double holds, one good line.
        let file = dir.path + "/report.ndjson"
        let text = [Self.economy("1e400"), Self.economy("-1e309"), Self.economy("7.2e12")].joined(separator: "\n") + "\n"
        try Data([0xEF, 0xBB, 0xBF] + Array(text.utf8)).write(to: URL(fileURLWithPath: file))
        let refused = try run("raqamctl", ["append", "--state-dir", dir.path, file])
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("\(file):1: data.services_volume_uzs: malformed JSON at column 138: the number 1e400 is out of range"), "\(refused.stderr)")
        #expect(refused.stderr.contains("\(file):2: data.services_volume_uzs:"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("'ï'"))
        #expect(try storedEvents(dir.path).count == 316)
        // The good line with the mark in front of it is stored.
        try Data([0xEF, 0xBB, 0xBF] + Array((Self.economy("7.2e12") + "\n").utf8)).write(to: URL(fileURLWithPath: file))
        let stored = try run("raqamctl", ["append", "--state-dir", dir.path, file])
        #expect(stored.status == 0, "\(stored.stderr)")
        #expect(try storedEvents(dir.path).count == 317)

        // Through raqamd's socket: the same answers.
        let d = try DaemonProcess(rules: [root.path + "/rules/districts.yaml"])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        let replies = try d.send([Self.economy("1e400"), "\u{FEFF}" + Self.economy("1e4")], replies: 2)
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        #expect(replies.first?.hasPrefix("error 1: data.services_volume_uzs: malformed JSON at column 138: the number 1e400 is out of range") == true, "\(replies)")
        #expect(replies.last == "ok 317", "\(replies)")
    }
}
