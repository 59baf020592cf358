import ArgumentParser
import Foundation
import RaqamControl
import RaqamModel
import RaqamSystem

extension Torture {
    /// One bad input line, and the field its refusal must name (nil: no field to name).
    struct BadLine {
        var name: String
        var bytes: [UInt8]
        var field: String?
    }

    /// The bad-input table: broken JSON, then, for every event type, each required field
    /// missing, each field with a value of the wrong kind or out of range, an unknown field, a
    /// subject the type does not allow; and bad envelopes (type, subject, time, id).
    static func badLines() -> [BadLine] {
        var out: [BadLine] = []
        func add(_ name: String, _ text: String, _ field: String?) { out.append(BadLine(name: name, bytes: Array(text.utf8), field: field)) }
        for (name, text) in [("an unclosed object", "{"), ("a cut member", #"{"type":"#), ("an array", "[1,2]"), ("a string", #""event""#),
                             ("a number", "42"), ("null", "null"), ("single quotes", "{'type':'x'}"), ("a trailing comma", #"{"type":"x",}"#),
                             ("text after the object", #"{"type":"x"} extra"#), ("a duplicate member", #"{"type":"a","type":"b"}"#),
                             ("a bad escape", #"{"type":"\q"}"#), ("a lone surrogate", #"{"type":"\ud800"}"#), ("a raw tab in a string", "{\"type\":\"a\tb\"}"),
                             ("nesting 100 deep", String(repeating: "[", count: 100) + String(repeating: "]", count: 100))] {
            add(name, text, nil)
        }
        out.append(BadLine(name: "invalid UTF-8", bytes: Array(#"{"type":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8), field: nil))
        out.append(BadLine(name: "a line over 64 KiB", bytes: Array(#"{"type":"x","pad":""#.utf8) + [UInt8](repeating: 0x61, count: 70_000) + Array(#""}"#.utf8), field: nil))

        let subjects: [EntityKey.Kind: String] = [.nation: "nation", .region: "region:1703", .district: "district:1703202", .org: "org:ministry-digital-technologies"]
        func good(_ kind: FieldKind) -> String {
            switch kind {
            case .string: #""text""#
            case .choice(let values): "\"\(values[0])\""
            case .integer(let r): "\(max(r.lowerBound, min(r.upperBound, 5)))"
            case .number(let r): "\(max(r.lowerBound, min(r.upperBound, 5.5)))"
            case .boolean: "true"
            case .date: #""2021-05-01""#
            case .period: #""2021-H1""#
            case .regionKey: #""region:1703""#
            case .url: #""https://portal.example.uz""#
            }
        }
        func bad(_ kind: FieldKind) -> [(String, String)] {
            switch kind {
            case .string: [("a number", "5"), ("an empty string", #""""#)]
            case .choice: [("a value not in the list", #""bogus""#)]
            case .integer(let r): [("a string", #""five""#), ("a fraction", "2.5"), ("below its range", "\(r.lowerBound - 1)")]
            case .number(let r): [("a string", #""x""#), ("1e400", "1e400")] + (r.lowerBound > -1e300 ? [("below its range", "\(r.lowerBound - 1)")] : [])
            case .boolean: [("a string", #""yes""#)]
            case .date: [("a day that does not exist", #""2021-02-30""#)]
            case .period: [("a half-year that does not exist", #""2021-H3""#)]
            case .regionKey: [("a district key", #""district:1703202""#)]
            case .url: [("not http(s)", #""ftp://x.uz""#)]
            }
        }
        for type in EventType.allCases where type != .entityRegistered {
            let schema = type.schema
            let subjectKind = [EntityKey.Kind.org, .district, .region, .nation].first { schema.subjects.contains($0) }!
            let subject = subjects[subjectKind]!
            func line(subject: String = subject, data fields: [(String, String)]) -> String {
                let data = fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
                return #"{"type":"\#(type.rawValue)","subject":"\#(subject)","occurred_at":"2021-05-01T10:00:00+05:00","data":{\#(data)}}"#
            }
            let all = schema.fields.map { ($0.name, good($0.kind)) }
            for f in schema.fields where f.required {
                add("\(type): data.\(f.name) missing", line(data: all.filter { $0.0 != f.name }), "data.\(f.name)")
            }
            for f in schema.fields {
                for (what, value) in bad(f.kind) {
                    add("\(type): data.\(f.name) \(what)", line(data: all.map { $0.0 == f.name ? ($0.0, value) : $0 }), "data.\(f.name)")
                }
            }
            add("\(type): an unknown field", line(data: all + [("bogus", "1")]), "data.bogus")
            if let wrong = [EntityKey.Kind.nation, .district, .org].first(where: { !schema.subjects.contains($0) }) {
                add("\(type): a \(wrong) subject", line(subject: subjects[wrong]!, data: all), "subject")
            }
        }
        let envelope = #""subject":"district:1703202","occurred_at":"2021-05-01T10:00:00+05:00","data":{"project":"P-1","program":"regional","title":"T","due":"2021-12-31"}"#
        add("no type", "{" + envelope + "}", "type")
        add("an unknown type", #"{"type":"project.finished","# + envelope + "}", "type")
        add("an unknown district", #"{"type":"project.registered","subject":"district:1799999","occurred_at":"2021-05-01T10:00:00+05:00","data":{"project":"P","program":"regional","title":"T","due":"2021-12-31"}}"#, "subject")
        add("a subject of no kind", #"{"type":"project.registered","subject":"village:1","occurred_at":"2021-05-01T10:00:00+05:00","data":{"project":"P","program":"regional","title":"T","due":"2021-12-31"}}"#, "subject")
        for (what, time) in [("a time without a zone", "2021-05-01T10:00:00"), ("a day that does not exist", "2021-02-30T10:00:00Z"), ("the future", "2099-01-01T00:00:00Z"), ("a number", "5")] {
            let value = time == "5" ? "5" : "\"\(time)\""
            add("occurred_at: \(what)", #"{"type":"project.registered","subject":"district:1703202","occurred_at":\#(value),"data":{"project":"P","program":"regional","title":"T","due":"2021-12-31"}}"#, "occurred_at")
        }
        add("an id that is not a UUID", #"{"id":"12345","type":"project.registered","# + envelope + "}", "id")
        add("no data", #"{"type":"project.registered","subject":"district:1703202","occurred_at":"2021-05-01T10:00:00+05:00"}"#, "data")
        add("data not an object", #"{"type":"project.registered","subject":"district:1703202","occurred_at":"2021-05-01T10:00:00+05:00","data":[1]}"#, "data")
        add("an id of the wrong kind", #"{"id":5,"type":"project.registered","# + envelope + "}", "id")
        add("a source that is not a string", #"{"source":["a"],"type":"project.registered","# + envelope + "}", "source")
        return out
    }

    /// Every bad line through `raqamctl append` (a file of its own each) and through raqamd's
    /// socket (one connection): each refused naming its line (and field), nothing stored.
    mutating func badInput() throws {
        let table = Self.badLines()
        print("input: \(table.count) kinds of bad input through both entry points")
        let state = try freshState("input")
        let before = try stored(state).count
        var direct = 0
        let file = state + "/bad.ndjson"
        for b in table {
            // A good line first, so "nothing stored" means the whole file was refused.
            let text = Array((Self.event(reporter: 902, 0) + "\n").utf8) + b.bytes + [0x0A]
            _ = FileManager.default.createFile(atPath: file, contents: Data(text))
            let r = try ctl(["append", "--state-dir", state, file])
            let named = r.stderr.contains("\(file):2:") && (b.field.map { r.stderr.contains($0) } ?? true)
            if r.status == 65 && named { direct += 1 } else {
                check(false, "input: \(b.name): raqamctl append said \(r.status): \(r.stderr.prefix(300))")
            }
            checks += 1
        }
        check(try stored(state).count == before, "input: raqamctl append stored some of the bad input")

        let d = try RunningDaemon(binDir: binDir, state: state, rules: rules)
        let socket = try UnixSocket(connectingTo: d.socketPath)
        var payload: [UInt8] = []
        for b in table { payload += b.bytes + [0x0A] }
        let sent = payload
        Thread { try? socket.send(sent) }.start()
        var reader = ReplyReader(socket: socket)
        var throughSocket = 0
        for (i, b) in table.enumerated() {
            guard let reply = reader.next() else { check(false, "input: raqamd closed the connection at line \(i + 1)"); break }
            let named = reply.hasPrefix("error \(i + 1):") && (b.field.map { reply.contains($0) } ?? true)
            if named { throughSocket += 1 } else { check(false, "input: \(b.name): raqamd answered \(reply.prefix(300))") }
            checks += 1
        }
        d.stop()
        check(try stored(state).count == before, "input: raqamd stored some of the bad input")
        figure("kinds of bad input", "\(table.count)")
        figure("refused by raqamctl append naming line and field (exit 65)", "\(direct) of \(table.count)")
        figure("refused by raqamd's socket naming line and field", "\(throughSocket) of \(table.count)")
    }
}
