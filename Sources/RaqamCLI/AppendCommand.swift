import ArgumentParser
import Foundation
import Glibc
import Projections
import RaqamControl
import RaqamEngine
import RaqamModel
import RaqamStore
import RaqamSystem

struct AppendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append NDJSON events (one JSON object per line) to the log.",
        discussion: """
            The whole input is validated before anything is written: every problem is printed \
            as FILE:LINE: field: message, the command exits 65, and nothing is appended. With \
            --skip-invalid, the valid lines are appended and the others go to REJECTS as JSON \
            lines {"file","line","errors","text"}.

            Events whose "id" the log already holds are not stored again; they are counted as \
            already stored, with their original seq (retries are safe).

            When raqamd listens on --socket, the events go through it (the same checks first; \
            the daemon's durability policy applies); otherwise they are appended directly, \
            which needs the log's writer lock.

            With --server URL and --token-file F (or RAQAM_SERVER, RAQAM_TOKEN_FILE), the file \
            is sent to that raqamd's HTTP API with the token: the same checks, messages and \
            exit codes (and 77 when the token is refused, 75 when the server says to try again \
            later); --receipt F saves the receipt for raqamctl verify --receipt.

            With --stream, lines are appended as they arrive (a pipe from a reporter), each \
            acknowledged on stdout as {"line":N,"seq":S,"duplicate":false} once it is durable; \
            invalid lines are reported on stderr and skipped, and the exit code is 65 if there \
            were any.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var remote: RemoteOptions

    @Option(help: ArgumentHelp("With --server: save the receipt (first and last seq, chain hash) to this file, for raqamctl verify --receipt.", valueName: "file"))
    var receipt: String?

    @Argument(help: ArgumentHelp("The NDJSON file, or - for standard input.", valueName: "file"))
    var file: String = "-"

    @Option(help: ArgumentHelp("Append the valid lines and write the invalid ones, with their errors, to this file.", valueName: "rejects"))
    var skipInvalid: String?

    @Flag(help: "Append each line as it arrives and acknowledge it on stdout (for pipes).")
    var stream = false

    @Option(help: ArgumentHelp("When an append is acknowledged: always (after fdatasync), interval (fdatasync every 200 ms), none (one sync at the end; bulk import).", valueName: "policy"))
    var durability: DurabilityArgument = .always

    @Option(name: .shortAndLong, help: "Summary format: table or json.") var output: ReportFormat = .table

    @Option(help: ArgumentHelp("After appending, write a projections snapshot when the log is this many events past the newest one (0: never).", valueName: "n"))
    var snapshotEvery = 100_000

    func validate() throws {
        if stream && skipInvalid != nil { throw ValidationError("--stream reports invalid lines on stderr; --skip-invalid is for whole files") }
    }

    func run() throws {
        let name = file == "-" ? "<stdin>" : file
        if let server = try remote.remote() {
            if stream || skipInvalid != nil { throw ValidationError("--server sends whole files: --stream and --skip-invalid work on the local machine only") }
            return try appendRemotely(server, name: name)
        }
        if receipt != nil { throw ValidationError("--receipt is for --server: a local append can run raqamctl verify itself") }
        if stream { return try runStream(name: name) }
        let input = try InputFile(path: file)
        if let daemon = try controlClient(global.socketPath, toDo: "append (nothing was appended)") {
            return try appendThroughDaemon(daemon, input: input, name: name)
        }
        try withStoreErrors {
            let store = try FileEventStore(stateDirectory: global.stateDirectory, durability: durability.store,
                                           acknowledgedThrough: AcknowledgedPosition.ofSnapshots(stateDirectory: global.stateDirectory))
            for line in store.recoveryNotes { printError("raqamctl: \(line)") }
            let ingest = Ingest(store: store)
            var check = ingest.makeCheck(file: name)
            // Each line is decoded once: the first pass keeps the good events in binary form.
            let spool = try SpoolFile(directory: global.stateDirectory)
            var kept: Int64 = 0
            let bad = try checkWhole(input, name: name, keep: { event, line in kept += 1; try spool.write(event, line: line) }) { line, decoded throws(StoreError) in try check.check(line, decoded: decoded) }
            var tally = Tally()
            var appended: Int64 = 0
            let progress = ProgressLine("appending \(name)", total: kept, unit: .events)
            try spool.forEachBatch { events, lines in
                tally.add(try ingest.append(checked: events, lines: lines, file: name), name: name)
                appended += Int64(events.count)
                progress?.update(appended)
            }
            progress?.finish()
            try store.close()
            snapshotIfDue(lastSeq: store.lastSeq)
            report(tally, rejected: bad.count)
            if tally.conflicts > 0 {
                printError("raqamctl: \(plural(tally.conflicts, "line")) reused an id stored with other content (the rest was appended)")
                throw Exit.dataError
            }
        }
    }

    /// The first pass over a file: every line checked, in bounded memory (one chunk of lines
    /// at a time). Without --skip-invalid any problem refuses the whole input: each is printed
    /// as FILE:LINE: field: message, and the command exits 65 before anything is appended.
    /// With it, the bad lines go to the rejects file, and their numbers come back for the
    /// second pass to skip.
    private func checkWhole(_ input: InputFile, name: String, keep: ((Event, Int) throws -> Void)? = nil,
                            _ check: (InputLine, EventDecoder.Decoded) throws(StoreError) -> Result<Event, IngestCheck.LineProblem>) throws -> Set<Int> {
        var bad: Set<Int> = []
        var problems = 0
        var sawEvent = false
        let rejects = try skipInvalid.map { try RejectsFile(path: $0) }
        let progress = ProgressLine("checking \(name)", total: input.size, unit: .bytes)
        defer { progress?.finish() }
        try forEachChunkOfLines(input.fd, chunkSize: 1 << 20) { chunk in
            defer { progress?.update(input.position) }
            // Decoding is pure and most of the cost: on all cores; the checks that depend on
            // earlier lines run in order.
            let decoded = parallelMap(chunk.map(\.bytes), minimumChunk: 512) { EventDecoder.decode(line: $0) }
            for ((number, bytes), decoded) in zip(chunk, decoded) {
                sawEvent = true
                let problem: IngestCheck.LineProblem
                switch try check(InputLine(number: number, bytes: bytes), decoded) {
                case .success(let event):
                    try keep?(event, number)
                    continue
                case .failure(let p): problem = p
                }
                bad.insert(number)
                problems += problem.issues.count
                if let rejects { try rejects.write(file: name, line: number, issues: problem.issues, text: bytes) } else {
                    for issue in problem.issues { printError(issue.description) }
                }
            }
        }
        if !sawEvent {
            printError(ValidationIssue(file: name, line: nil, field: nil, message: "no events: the input is empty (expected NDJSON, one event per line)").description)
            printError("raqamctl: nothing was appended")
            throw Exit.dataError
        }
        if problems > 0 && rejects == nil {
            printError("raqamctl: \(plural(problems, "problem")) in \(name); nothing was appended")
            throw Exit.dataError
        }
        try rejects?.commit()
        return bad
    }

    /// The same contract through a running raqamd: the whole input is checked first (syntax,
    /// and subjects against the log, read without its lock), then the good lines are sent a
    /// chunk at a time and each acknowledged once durable. The daemon's durability policy
    /// applies; an id stored with other content is refused by raqamd line by line.
    private func appendThroughDaemon(_ daemon: ControlClient, input: InputFile, name: String) throws {
        // A member of the socket's group who may not read the state directory (group raqam,
        // not raqam-read) has the syntax checked whole here and the subjects by raqamd, line
        // by line (docs/operations.md, "Who may do what").
        let readable = FileCalls.isAccessible(global.stateDirectory + "/events", R_OK | X_OK)
        let known = readable ? try withStoreErrors { try FileEventStore.registeredSubjects(stateDirectory: global.stateDirectory) } : nil
        var check = IngestCheck(isRegistered: { known?.contains($0) ?? true }, file: name)
        let bad = try checkWhole(input, name: name) { line, decoded throws(StoreError) in try check.check(line, decoded: decoded) }
        var tally = Tally()
        var refused = 0
        try input.rewind()
        let progress = ProgressLine("appending \(name) through raqamd", total: input.size, unit: .bytes)
        defer { progress?.finish() }
        try forEachChunkOfLines(input.fd) { chunk in
            defer { progress?.update(input.position) }
            let lines = chunk.filter { !bad.contains($0.number) }
            guard !lines.isEmpty else { return }
            let replies: [String]
            do {
                replies = try daemon.exchange(lines.map { $0.bytes[...] })
            } catch {
                printError("raqamctl: \(error); the events acknowledged before it are stored")
                throw Exit.ioError
            }
            for (line, reply) in zip(lines, replies) {
                if let ack = ControlProtocol.Ack(reply: reply) {
                    tally.add(seq: ack.seq, duplicate: ack.isDuplicate)
                } else {
                    refused += 1
                    printError("\(name):\(line.number): raqamd refused it: \(reply)")
                }
            }
        }
        report(tally, rejected: bad.count)
        if refused > 0 { throw Exit.dataError }
    }

    /// `--stream`: each chunk of lines goes through the ingest pipeline line by line, directly
    /// or through raqamd (which runs the same pipeline): the good lines are acknowledged on
    /// stdout once durable, the bad ones reported on stderr.
    private func runStream(name: String) throws {
        let fd: Int32
        do { fd = file == "-" ? 0 : try FileCalls.open(file, O_RDONLY) } catch {
            printError("raqamctl: cannot read \(file): \(error.reason)")
            throw Exit.ioError
        }
        let out = Output()
        var invalid = 0
        func acknowledge(_ line: Int, seq: UInt64, duplicate: Bool) {
            out.line("{\"line\":\(line),\"seq\":\(seq),\"duplicate\":\(duplicate)}")
        }
        if let daemon = try controlClient(global.socketPath, toDo: "append (nothing was appended)") {
            try forEachChunkOfLines(fd) { chunk in
                // A line that is not an object would be read as a command by the socket.
                let lines = chunk.filter { line in
                    guard line.bytes.first == UInt8(ascii: "{") else {
                        printError("\(name):\(line.number): malformed JSON: expected an object")
                        invalid += 1
                        return false
                    }
                    return true
                }
                guard !lines.isEmpty else { return }
                let replies: [String]
                do { replies = try daemon.exchange(lines.map { $0.bytes[...] }) } catch {
                    printError("raqamctl: \(error)")
                    throw Exit.ioError
                }
                for (line, reply) in zip(lines, replies) {
                    if let ack = ControlProtocol.Ack(reply: reply) { acknowledge(line.number, seq: ack.seq, duplicate: ack.isDuplicate) } else {
                        printError("\(name):\(line.number): \(ControlProtocol.errorText(reply) ?? reply)")
                        invalid += 1
                    }
                }
                out.flush()
            }
        } else {
            try withStoreErrors {
                let store = try FileEventStore(stateDirectory: global.stateDirectory, durability: durability.store,
                                           acknowledgedThrough: AcknowledgedPosition.ofSnapshots(stateDirectory: global.stateDirectory))
                for line in store.recoveryNotes { printError("raqamctl: \(line)") }
                let ingest = Ingest(store: store)
                try forEachChunkOfLines(fd) { chunk in
                    let results = try ingest.submit(chunk.map { InputLine(number: $0.number, bytes: $0.bytes) }, policy: .perLine, file: name)
                    for r in results {
                        switch r.outcome {
                        case .stored(let seq): acknowledge(r.line, seq: seq, duplicate: false)
                        case .duplicate(let seq): acknowledge(r.line, seq: seq, duplicate: true)
                        case .conflict(_, let issue):
                            printError(issue.description)
                            invalid += 1
                        case .refused(let issues):
                            for i in issues { printError(i.description) }
                            invalid += 1
                        case .notAppended:
                            invalid += 1
                        }
                    }
                    out.flush()
                }
                try store.close()
                snapshotIfDue(lastSeq: store.lastSeq)
            }
        }
        if invalid > 0 {
            printError("raqamctl: \(invalid) invalid lines were skipped")
            throw Exit.dataError
        }
    }

    /// Keeps restarts short: a snapshot every `--snapshot-every` events (docs/projections.md).
    /// A snapshot is an optimisation: when it cannot be written (a full disk), the append,
    /// already durable, still succeeds, and the message says exactly that.
    private func snapshotIfDue(lastSeq: UInt64) {
        do {
            if let written = try Replay.snapshotIfDue(stateDirectory: global.stateDirectory, lastSeq: lastSeq, every: snapshotEvery) {
                printError("raqamctl: wrote the snapshot \(written)")
            }
        } catch {
            printError("raqamctl: warning: the events are stored (the log is durable up to seq \(lastSeq)), but the snapshot after them could not be written: \(error); only the next start-up folds more of the log")
        }
    }

    func report(_ tally: Tally, rejected: Int) {
        if output == .json {
            var w = JSONWriter()
            w.beginObject()
            w.key("appended"); w.integer(tally.added)
            w.key("already_stored"); w.integer(tally.duplicates)
            w.key("rejected"); w.integer(rejected)
            w.key("first_seq"); if let f = tally.firstSeq { w.integer(f) } else { w.null() }
            w.key("last_seq"); if let l = tally.lastSeq { w.integer(l) } else { w.null() }
            w.key("conflicts"); w.integer(tally.conflicts)
            w.endObject()
            print(w.text)
        } else {
            var text = "appended \(plural(tally.added, "event"))"
            if let f = tally.firstSeq, let l = tally.lastSeq { text += f == l ? " (seq \(f))" : " (seq \(f)…\(l))" }
            if tally.duplicates > 0 { text += "; \(plural(tally.duplicates, "event")) already stored" }
            if rejected > 0 { text += "; \(plural(rejected, "invalid line")) written to \(skipInvalid!)" }
            print(text)
        }
    }
}

/// What an append stored, counted as the results come in (a file may be millions of lines).
struct Tally {
    var added = 0
    var duplicates = 0
    var conflicts = 0
    var firstSeq: UInt64?
    var lastSeq: UInt64?

    mutating func add(seq: UInt64, duplicate: Bool) {
        if duplicate { duplicates += 1; return }
        added += 1
        if firstSeq == nil { firstSeq = seq }
        lastSeq = seq
    }

    /// Adds results; a conflict is printed (a second pass finds one only when the file itself
    /// sends one id twice with different content).
    mutating func add(_ results: [LineResult], name: String) {
        for r in results {
            switch r.outcome {
            case .stored(let seq): add(seq: seq, duplicate: false)
            case .duplicate(let seq): add(seq: seq, duplicate: true)
            case .conflict(_, let issue):
                printError(issue.description)
                conflicts += 1
            case .refused, .notAppended: break
            }
        }
    }
}

/// The input of `append` as a file that can be read twice (checked whole, then appended):
/// the named file, or standard input, copied to a temporary file first when it is a pipe.
/// Memory stays bounded whatever the input's size.
final class InputFile {
    let fd: Int32

    /// Its size in bytes (0 when unknown), for a progress line.
    var size: Int64 { Int64((try? FileCalls.fileSize(fd, path: "the input")) ?? 0) }
    /// How far the first or second pass has read, for a progress line.
    var position: Int64 { Int64(FileCalls.position(fd) ?? 0) }
    private var spooled: String?

    init(path: String) throws {
        if path != "-" {
            do { fd = try FileCalls.open(path, O_RDONLY) } catch {
                printError("raqamctl: cannot read \(path): \(error.reason)")
                throw Exit.ioError
            }
            return
        }
        if FileCalls.position(0) != nil { fd = 0; return }
        let tmp: Int32
        do {
            (tmp, spooled) = try FileCalls.temporaryFile(NSTemporaryDirectory() + "raqamctl-stdin.XXXXXX")
        } catch {
            printError("raqamctl: cannot spool standard input to a temporary file: \(error.reason)")
            throw Exit.ioError
        }
        fd = tmp
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        do {
            while true {
                let n = try buffer.withUnsafeMutableBytes { try FileCalls.read(0, into: $0, path: "standard input") }
                if n == 0 { break }
                try buffer.withUnsafeBytes { try FileCalls.writeAll(tmp, UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: "the spool file") }
            }
        } catch {
            throw ioFailure("cannot spool standard input", error)
        }
        try rewind()
    }

    deinit {
        if let spooled { try? FileCalls.unlink(spooled) }
        if fd != 0 { FileCalls.close(fd) }
    }

    func rewind() throws {
        do { try FileCalls.seek(fd, to: 0, path: "the input") } catch {
            throw ioFailure("cannot read the input a second time", error)
        }
    }
}

/// The good events of the first pass in binary form (`EventCodec`), each with its line
/// number, for the second pass to append without decoding JSON again. An unnamed file in the
/// state directory (which has room for what the log will hold; /tmp may be memory): it has no
/// name to leave behind if raqamctl dies, and is gone when closed.
final class SpoolFile {
    private let fd: Int32
    private var buffer: [UInt8] = []
    static let bufferBytes = 1 << 20

    init(directory: String) throws {
        do { fd = try FileCalls.unnamedFile(in: directory) } catch {
            throw ioFailure("cannot make a temporary file in \(directory)", error, then: "; nothing was appended")
        }
        buffer.reserveCapacity(Self.bufferBytes + 4096)
    }

    deinit { FileCalls.close(fd) }

    /// Keeps one event: its length (4 bytes), line number (8), binary form.
    func write(_ event: Event, line: Int) throws {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: 12))
        EventCodec.encode(event, into: &buffer)
        let length = UInt32(buffer.count - start - 12)
        withUnsafeBytes(of: length.littleEndian) { buffer.replaceSubrange(start..<start + 4, with: $0) }
        withUnsafeBytes(of: UInt64(line).littleEndian) { buffer.replaceSubrange(start + 4..<start + 12, with: $0) }
        if buffer.count >= Self.bufferBytes { try flush() }
    }

    private func flush() throws {
        do {
            try buffer.withUnsafeBytes { try FileCalls.writeAll(fd, $0, path: "the temporary copy of the checked events") }
        } catch {
            throw ioFailure("cannot write the temporary copy of the checked events", error, then: "; nothing was appended")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// The second pass: the kept events in batches of at most 10,000 (one append each: fewer,
    /// larger writes), read back 1 MiB at a time.
    func forEachBatch(_ body: ([Event], [Int]) throws -> Void) throws {
        try flush()
        do { try FileCalls.seek(fd, to: 0, path: "the temporary copy of the checked events") } catch {
            throw ioFailure("cannot read the temporary copy of the checked events", error, then: "; nothing was appended")
        }
        var events: [Event] = [], lines: [Int] = []
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: Self.bufferBytes)
        while true {
            let n: Int
            do { n = try chunk.withUnsafeMutableBytes { try FileCalls.read(fd, into: $0, path: "the temporary copy of the checked events") } } catch {
                throw ioFailure("cannot read the temporary copy of the checked events", error)
            }
            if n == 0 { break }
            pending += chunk[0..<n]
            var at = 0
            try pending.withUnsafeBytes { raw in
                while raw.count - at >= 12 {
                    let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                    guard raw.count - at - 12 >= length else { break }
                    let line = Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at + 4, as: UInt64.self)))
                    let event: Event
                    do { event = try EventCodec.decode(UnsafeRawBufferPointer(rebasing: raw[at + 12..<at + 12 + length])) } catch {
                        printError("raqamctl: the temporary copy of the checked events is damaged (\(error)); the events before line \(line) were appended")
                        throw Exit.ioError
                    }
                    events.append(event)
                    lines.append(line)
                    at += 12 + length
                    if events.count >= 10_000 {
                        try body(events, lines)
                        events.removeAll(keepingCapacity: true)
                        lines.removeAll(keepingCapacity: true)
                    }
                }
            }
            pending.removeFirst(at)
        }
        if !events.isEmpty { try body(events, lines) }
    }
}

/// `--skip-invalid`'s file: JSON lines {"file","line","errors","text"}, written as the first
/// pass finds them into a temporary file beside it, renamed into place before anything is appended.
final class RejectsFile {
    let path: String
    let temporary: String
    let handle: FileHandle

    init(path: String) throws {
        self.path = path
        temporary = path + ".part"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let h = FileHandle(forWritingAtPath: temporary) else {
            printError("raqamctl: cannot write \(path): permission denied or no such folder; nothing was appended")
            throw Exit.ioError
        }
        handle = h
    }

    func write(file: String, line: Int, issues: [ValidationIssue], text: [UInt8]) throws {
        var w = JSONWriter()
        w.beginObject()
        w.key("file"); w.string(file)
        w.key("line"); w.integer(line)
        w.key("errors"); w.beginArray()
        for issue in issues { w.string((issue.field.map { $0 + ": " } ?? "") + issue.message) }
        w.endArray()
        w.key("text"); w.string(String(decoding: text, as: UTF8.self))
        w.endObject()
        do { try handle.write(contentsOf: Data((w.text + "\n").utf8)) } catch {
            printError("raqamctl: cannot write \(path): \(error.localizedDescription); nothing was appended")
            throw Exit.ioError
        }
    }

    func commit() throws {
        do {
            try handle.synchronize()
            try handle.close()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            printError("raqamctl: cannot write \(path): \(error.localizedDescription); nothing was appended")
            throw Exit.ioError
        }
    }
}

/// `--durability always|interval|none`.
enum DurabilityArgument: String, ExpressibleByArgument, CaseIterable {
    case always, interval, none

    var store: FileEventStore.Durability {
        switch self {
        case .always: .always
        case .interval: .interval(milliseconds: 200)
        case .none: .none
        }
    }
}

/// Says why a read or write of `append`'s files failed ("raqamctl: cannot … : errno's words
/// (errno N)", then `then`) and returns the exit code for it (74).
func ioFailure(_ what: String, _ error: any Error, then: String = "") -> ExitCode {
    printError("raqamctl: \(what): \((error as? SystemError)?.reason ?? "\(error)")\(then)")
    return Exit.ioError
}

/// Reads `fd` a chunk at a time (64 KiB) until its end and hands `body` the lines each chunk
/// completed, numbered from 1, without their line ends (LF or CRLF); blank lines are counted
/// but not handed over; a last line without a newline is handed over at the end. What both
/// kinds of `append --stream` (direct and through raqamd) read their input with.
func forEachChunkOfLines(_ fd: Int32, chunkSize: Int = 1 << 16, _ body: ([(number: Int, bytes: [UInt8])]) throws -> Void) throws {
    var pending: [UInt8] = []
    var lineNumber = 0
    var chunk = [UInt8](repeating: 0, count: chunkSize)
    var eof = false
    while !eof {
        let n: Int
        // A read that fails is not the end of the input: what was read so far is not all of it.
        do { n = try chunk.withUnsafeMutableBytes { try FileCalls.read(fd, into: $0, path: fd == 0 ? "standard input" : "the input") } } catch {
            throw ioFailure("cannot read the input", error)
        }
        if n == 0 { eof = true } else { pending += chunk[0..<n] }
        var lines: [(number: Int, bytes: [UInt8])] = []
        // A cursor over the buffer; what is left of a line goes to the front once per read.
        var start = 0
        while start < pending.count {
            guard let nl = pending[start...].firstIndex(of: 0x0A) ?? (eof ? pending.count : nil) else { break }
            var line = Array(pending[start..<nl])
            start = nl + 1
            lineNumber += 1
            if line.last == 0x0D { line.removeLast() }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            lines.append((lineNumber, line))
        }
        pending.removeFirst(min(start, pending.count))
        if !lines.isEmpty { try body(lines) }
    }
}
