public import RaqamModel

/// What a reporting body keeps to prove later what the log acknowledged to it: the first and
/// last seq of a submission and the chain hash after the last. Each record's chain hash
/// covers every record before it, so a log that still has this hash at `lastSeq` still holds
/// every event up to it, unchanged. `raqamctl verify --receipt FILE` checks one.
public struct Receipt: Sendable, Equatable {
    public var firstSeq: UInt64
    public var lastSeq: UInt64
    /// Lower-case hex of the SHA-256 chain hash of the record at `lastSeq`.
    public var chain: String

    public init(firstSeq: UInt64, lastSeq: UInt64, chain: String) {
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.chain = chain
    }

    /// `{"first_seq":…,"last_seq":…,"chain":"…"}`, the summary's `receipt` member.
    public func write(into w: inout JSONWriter) {
        w.beginObject()
        w.key("first_seq"); w.integer(firstSeq)
        w.key("last_seq"); w.integer(lastSeq)
        w.key("chain"); w.string(chain)
        w.endObject()
    }

    /// Reads a receipt: the `receipt` object itself, or an import summary that has one.
    /// - Throws: a message naming the member that is missing or malformed.
    public init(json bytes: [UInt8]) throws(ReceiptProblem) {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch {
            throw ReceiptProblem(message: "not JSON: \(error.message) at column \(error.column)")
        }
        guard case .object(var members) = value else { throw ReceiptProblem(message: "a receipt is a JSON object") }
        if let inner = members.first(where: { $0.key == "receipt" })?.value {
            guard case .object(let m) = inner else { throw ReceiptProblem(message: "member receipt: expected an object") }
            members = m
        }
        func seq(_ name: String) throws(ReceiptProblem) -> UInt64 {
            guard let v = members.first(where: { $0.key == name })?.value else { throw ReceiptProblem(message: "member \(name) is missing") }
            guard case .number(let n, _, _) = v, n >= 1, n == n.rounded(), n < 9e15 else {
                throw ReceiptProblem(message: "member \(name): expected a seq (a whole number from 1)")
            }
            return UInt64(n)
        }
        let first = try seq("first_seq"), last = try seq("last_seq")
        guard first <= last else { throw ReceiptProblem(message: "first_seq \(first) is after last_seq \(last)") }
        guard case .string(let chain)? = members.first(where: { $0.key == "chain" })?.value,
              chain.utf8.count == 64, chain.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw ReceiptProblem(message: "member chain: expected 64 lower-case hex digits")
        }
        self.init(firstSeq: first, lastSeq: last, chain: chain)
    }
}

public struct ReceiptProblem: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension StoredEventReader {
    /// The receipt for the events `first ... last`, or nil when the log does not hold `last`.
    public func receipt(first: UInt64, last: UInt64) throws -> Receipt? {
        var chain: String?
        try reader.scan(from: last) { r in
            if r.seq == last { chain = r.chain.description }
            return false
        }
        return chain.map { Receipt(firstSeq: first, lastSeq: last, chain: $0) }
    }

    /// Whether the log still holds what `receipt` says: nil when it does, else why not.
    public func problem(with receipt: Receipt) throws -> String? {
        guard let found = try self.receipt(first: receipt.firstSeq, last: receipt.lastSeq) else {
            return "the log holds no event at seq \(receipt.lastSeq): it ends before the receipt's last event"
        }
        if found.chain != receipt.chain {
            return "the chain hash at seq \(receipt.lastSeq) is \(found.chain), the receipt says \(receipt.chain): the log was rewritten up to that event"
        }
        return nil
    }
}
