import Foundation
import Testing

@Suite(.serialized) struct AppendCommandTests {
    /// A state dir with the reference data and 10 events; returns its verify summary.
    func prepared(_ dir: StateDirectory) throws -> String {
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        #expect(try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: ndjson(0..<10)).status == 0)
        return try run("raqamctl", ["verify", "--state-dir", dir.path, "-o", "json"]).stdout
    }

    @Test func initTwiceRegistersTheReferenceDataOnce() throws {
        let dir = StateDirectory()
        let first = try run("raqamctl", ["init", "--state-dir", dir.path])
        #expect(first.status == 0)
        #expect(first.stdout.contains("registered 316 new entities (0 already registered): 14 regions, 208 districts and cities, 94 organizations"))
        let second = try run("raqamctl", ["init", "--state-dir", dir.path])
        #expect(second.stdout.contains("registered 0 new entities (316 already registered)"))
        #expect(try storedEvents(dir.path).count == 316)
    }

    @Test func sameFileAppendedTwiceIsStoredOnceWithTheSameSeqs() throws {
        let dir = StateDirectory()
        _ = try prepared(dir)
        let file = dir.path + "/batch.ndjson"
        try Data(ndjson(100..<150)).write(to: URL(fileURLWithPath: file))
        let first = try run("raqamctl", ["append", "--state-dir", dir.path, file, "-o", "json"])
        #expect(first.stdout.contains(#""appended":50,"already_stored":0,"rejected":0,"first_seq":327,"last_seq":376"#))
        let before = try storedEvents(dir.path)
        // Every run of raqamctl is a restart of the log: the ids come back from disk.
        let second = try run("raqamctl", ["append", "--state-dir", dir.path, file])
        #expect(second.status == 0)
        #expect(second.stdout == "appended 0 events; 50 events already stored\n")
        let after = try storedEvents(dir.path)
        #expect(after.count == before.count)
        #expect(after.map { $0["seq"] as! Int } == before.map { $0["seq"] as! Int })
    }

    static let badInputs: [(name: String, bytes: [UInt8], message: String)] = [
        ("malformed JSON", Array(#"{"type":"project.implemented","subject":"district:1703202""#.utf8) + [0x0A],
         "bad.ndjson:1: malformed JSON at column 59: unexpected end of line; expected ',' or '}'"),
        ("unknown type", Array(#"{"type":"project.done","subject":"district:1703202","occurred_at":"2021-05-14T09:30:00+05:00","data":{"project":"P"}}"#.utf8),
         #"bad.ndjson:1: type: unknown event type "project.done""#),
        ("unknown subject", Array(#"{"type":"project.implemented","subject":"district:1799999","occurred_at":"2021-05-14T09:30:00+05:00","data":{"project":"P"}}"#.utf8),
         "bad.ndjson:1: subject: unknown subject district:1799999; register it first"),
        ("missing field", Array(#"{"type":"project.implemented","subject":"district:1703202","occurred_at":"2021-05-14T09:30:00+05:00","data":{}}"#.utf8),
         "bad.ndjson:1: data.project: missing; expected a non-empty string"),
        ("ill-typed field", Array(#"{"type":"training.reported","subject":"district:1703202","occurred_at":"2021-05-14T09:30:00+05:00","data":{"staff":"forty","trained":3}}"#.utf8),
         #"bad.ndjson:1: data.staff: expected a whole number ≥ 0, got "forty""#),
        ("bad timestamp", Array(#"{"type":"project.implemented","subject":"district:1703202","occurred_at":"14.05.2021","data":{"project":"P"}}"#.utf8),
         #"bad.ndjson:1: occurred_at: "14.05.2021" is not an RFC 3339 time"#),
        ("record over the size limit", Array(#"{"type":"project.implemented","subject":"district:1703202","occurred_at":"2021-05-14T09:30:00+05:00","data":{"project":"\#(String(repeating: "P", count: 70_000))"}}"#.utf8),
         "bad.ndjson:1: the line has 70"),
        ("invalid UTF-8", Array(#"{"type":"project.implemented","subject":"district:1703202","occurred_at":"2021-05-14T09:30:00+05:00","data":{"project":"P"#.utf8) + [0xFF] + Array(#""}}"#.utf8),
         "bad.ndjson:1: invalid UTF-8 at byte 122"),
        ("empty file", [], "bad.ndjson: no events: the input is empty"),
        ("event in the future", Array(#"{"type":"project.implemented","subject":"district:1703202","occurred_at":"2099-01-01T00:00:00+05:00","data":{"project":"P"}}"#.utf8),
         "bad.ndjson:1: occurred_at: 2099-01-01T00:00:00+05:00 is in the future"),
    ]

    @Test(arguments: badInputs.indices)
    func badInputIsRefusedWithAClearErrorAndNothingIsAppended(_ index: Int) throws {
        let (name, bytes, message) = Self.badInputs[index]
        let dir = StateDirectory()
        let intact = try prepared(dir)
        let file = dir.path + "/bad.ndjson"
        // A good line first: the batch is validated whole, so it must not be appended either.
        try Data((name == "empty file" ? [] : ndjson(500..<501)) + bytes).write(to: URL(fileURLWithPath: file))
        let r = try run("raqamctl", ["append", "--state-dir", dir.path, file])
        #expect(r.status == 65, "\(name): exit \(r.status)")
        let expected = name == "empty file" ? message : message.replacingOccurrences(of: "bad.ndjson:1:", with: "bad.ndjson:2:")
        #expect(r.stderr.contains(dir.path + "/" + expected), "\(name): \(r.stderr)")
        #expect(r.stderr.contains("nothing was appended"))
        #expect(try run("raqamctl", ["verify", "--state-dir", dir.path, "-o", "json"]).stdout == intact, "\(name): the log changed")
    }

    @Test func skipInvalidAppendsTheValidLinesAndWritesTheOthersWithTheirErrors() throws {
        let dir = StateDirectory()
        _ = try prepared(dir)
        let file = dir.path + "/mixed.ndjson", rejects = dir.path + "/rejects.ndjson"
        let bad = #"{"type":"project.implemented","subject":"district:1703202","occurred_at":"2021-13-01T00:00:00Z","data":{"project":"P"}}"#
        try Data(ndjson(200..<202) + Array((bad + "\n").utf8) + ndjson(202..<203)).write(to: URL(fileURLWithPath: file))
        let r = try run("raqamctl", ["append", "--state-dir", dir.path, file, "--skip-invalid", rejects])
        #expect(r.status == 0)
        #expect(r.stdout == "appended 3 events (seq 327…329); 1 invalid line written to \(rejects)\n")
        let written = try String(contentsOfFile: rejects, encoding: .utf8)
        let obj = try JSONSerialization.jsonObject(with: Data(written.utf8)) as! [String: Any]
        #expect(obj["line"] as? Int == 3)
        #expect(obj["text"] as? String == bad)
        #expect((obj["errors"] as? [String])?.first?.hasPrefix("occurred_at: \"2021-13-01T00:00:00Z\" is not an RFC 3339 time") == true)
    }

    @Test func verifyNamesTheDamagedPlaceAndAppendsAreRefused() throws {
        let dir = StateDirectory()
        _ = try prepared(dir)
        let segment = dir.path + "/events/00000000000000000001.seg"
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        bytes[200] ^= 0x10  // inside the first record
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let v = try run("raqamctl", ["verify", "--state-dir", dir.path])
        #expect(v.status == 1)
        #expect(v.stdout.contains("DAMAGED  \(segment) at offset 128: CRC-32C mismatch"))
        // Counted in words a person reads: one damaged place, one segment.
        #expect(v.stdout.contains("FAILED   1 damaged place; ") && v.stdout.contains(" in 1 segment, seq"), "\(v.stdout)")
        let a = try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: ndjson(900..<901))
        #expect(a.status == 74)
        #expect(a.stderr.contains("\(segment) at offset 128: CRC-32C mismatch"))
        #expect(a.stderr.contains("the log refuses to write until this is repaired"))
    }

    @Test func eventsFiltersByTypeSubjectTimeAndSeq() throws {
        let dir = StateDirectory()
        _ = try prepared(dir)
        let bySubject = try run("raqamctl", ["events", "--state-dir", dir.path, "--subject", "district:1703202", "--type", "project.registered", "-o", "ndjson"])
        #expect(bySubject.stdout.split(separator: "\n").count == 2)  // events 0 and 7
        let byTime = try run("raqamctl", ["events", "--state-dir", dir.path, "--since", "2021-03-01", "--until", "2021-03-31", "-o", "csv"])
        let rows = byTime.stdout.split(separator: "\n")
        #expect(rows.first == "seq,id,type,subject,occurred_at,recorded_at,source,data")
        #expect(rows.count == 3)  // events 2 (2021-03-12) and 8 (2021-03-18)
        let after = try run("raqamctl", ["events", "--state-dir", dir.path, "--after-seq", "324", "-o", "json"])
        let arr = try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as! [[String: Any]]
        #expect(arr.map { $0["seq"] as! Int } == [325, 326])
        let table = try run("raqamctl", ["events", "--state-dir", dir.path, "--after-seq", "325"])
        #expect(table.stdout.hasPrefix("SEQ  OCCURRED_AT"))
        let row = table.stdout.split(separator: "\n").last.map { $0.split(separator: " ", omittingEmptySubsequences: true) } ?? []
        #expect(row.prefix(4) == ["326", "2021-04-19T10:00:00+05:00", "project.registered", "district:1706204"])
        let unknown = try run("raqamctl", ["events", "--state-dir", dir.path, "--type", "nope"])
        #expect(unknown.status == 64 || unknown.status == 2)
    }
}
