public import RaqamModel
public import RaqamStore

/// The answer to `POST /v1/events` (docs/api.md): what became of every event, the seqs, and a
/// receipt the reporting body can keep.
public struct ImportSummary: Sendable {
    public enum Status: String, Sendable {
        /// Everything was stored, or had been (duplicates).
        case ok
        /// Some events were stored, others not (`atomic=false`).
        case partial
        /// Nothing of the request was stored, and something was wrong with it.
        case refused
    }

    /// One event that was not simply stored.
    public struct Result: Sendable {
        public var line: Int
        public var id: String?
        /// `duplicate`, `conflict`, `invalid`, `forbidden`, `not_stored` (valid, but its
        /// all-or-nothing request was refused).
        public var code: String
        public var field: String?
        public var message: String
        public var seq: UInt64?
    }

    public var status: Status
    public var dryRun: Bool
    public var atomic: Bool
    public var received: Int
    public var stored = 0
    public var duplicates = 0
    public var conflicts = 0
    public var refused = 0
    public var notStored = 0
    /// One per event, in order: the seq it is stored at (now or before), nil when not stored.
    public var seqs: [UInt64?]
    public var results: [Result] = []
    public var receipt: Receipt?

    /// Detailed results beyond this many are left out (`groups` still lists every line).
    public static let maxResults = 1_000

    /// The summary of `results` (one per line of `body`, from `Ingest`). `ids` are the events'
    /// ids as stored (derived ones included), by line.
    public init(results lineResults: [LineResult], ids: [Int: EventID], dryRun: Bool, atomic: Bool) {
        self.dryRun = dryRun
        self.atomic = atomic
        received = lineResults.count
        seqs = []
        seqs.reserveCapacity(lineResults.count)
        for r in lineResults {
            let id = ids[r.line]?.description
            switch r.outcome {
            case .stored(let seq):
                stored += 1
                seqs.append(seq)
            case .duplicate(let seq):
                duplicates += 1
                seqs.append(seq)
                results.append(Result(line: r.line, id: id, code: "duplicate", field: "id",
                                      message: "already stored at seq \(seq) with the same content; not stored again", seq: seq))
            case .conflict(let seq, let issue):
                conflicts += 1
                seqs.append(nil)
                results.append(Result(line: r.line, id: id, code: "conflict", field: issue.field, message: issue.message, seq: seq))
            case .refused(let issues):
                refused += 1
                seqs.append(nil)
                for issue in issues {
                    results.append(Result(line: r.line, id: id, code: "invalid", field: issue.field, message: issue.message, seq: nil))
                }
            case .notAppended:
                seqs.append(nil)
                if dryRun {
                    stored += 1
                } else {
                    notStored += 1
                    results.append(Result(line: r.line, id: id, code: "not_stored", field: nil,
                                          message: "valid, but not stored: the request is all or nothing (atomic=true) and other events were refused", seq: nil))
                }
            }
        }
        let bad = conflicts + refused
        status = bad == 0 ? .ok : (stored > 0 && !dryRun ? .partial : .refused)
    }

    /// A summary of a request refused for its scope: nothing of it is stored.
    public init(forbidden: [(line: Int, field: String, message: String)], received: Int, ids: [Int: EventID]) {
        status = .refused
        dryRun = false
        atomic = true
        self.received = received
        seqs = Array(repeating: nil, count: received)
        refused = forbidden.count
        notStored = received - forbidden.count
        results = forbidden.map { Result(line: $0.line, id: ids[$0.line]?.description, code: "forbidden", field: $0.field, message: $0.message, seq: nil) }
    }

    public var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.key("status"); w.string(status.rawValue)
        w.key("dry_run"); w.bool(dryRun)
        w.key("atomic"); w.bool(atomic)
        w.key("counts"); w.beginObject()
        w.key("received"); w.integer(received)
        w.key(dryRun ? "valid" : "stored"); w.integer(stored)
        w.key("duplicates"); w.integer(duplicates)
        w.key("conflicts"); w.integer(conflicts)
        w.key("refused"); w.integer(refused)
        w.key("not_stored"); w.integer(notStored)
        w.endObject()
        w.key("seqs"); w.beginArray()
        for s in seqs { if let s { w.integer(s) } else { w.null() } }
        w.endArray()
        w.key("results"); w.beginArray()
        for r in results.prefix(Self.maxResults) {
            w.beginObject()
            w.key("line"); w.integer(r.line)
            w.key("id"); if let id = r.id { w.string(id) } else { w.null() }
            w.key("code"); w.string(r.code)
            w.key("field"); if let f = r.field { w.string(f) } else { w.null() }
            w.key("message"); w.string(r.message)
            if let seq = r.seq { w.key("seq"); w.integer(seq) }
            w.endObject()
        }
        w.endArray()
        w.key("results_truncated"); w.bool(results.count > Self.maxResults)
        // Results grouped by code, each with every line number: a file with the same mistake
        // on ten thousand lines reads as one finding.
        w.key("groups"); w.beginArray()
        var order: [String] = []
        var lines: [String: [Int]] = [:]
        var first: [String: Result] = [:]
        for r in results {
            if lines[r.code] == nil { order.append(r.code); first[r.code] = r; lines[r.code] = [] }
            if lines[r.code]!.last != r.line { lines[r.code]!.append(r.line) }
        }
        for code in order {
            w.beginObject()
            w.key("code"); w.string(code)
            w.key("count"); w.integer(lines[code]!.count)
            w.key("lines"); w.beginArray(); for l in lines[code]! { w.integer(l) }; w.endArray()
            w.key("first_message"); w.string(first[code]!.message)
            w.endObject()
        }
        w.endArray()
        w.key("receipt"); if let r = receipt { r.write(into: &w) } else { w.null() }
        w.endObject()
        return w.text
    }
}
