import ArgumentParser
import Foundation
import RaqamEngine
import RaqamModel
import RaqamStore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the whole log: every record's CRC-32C, gap-free sequence numbers, the SHA-256 chain, the indexes, and that every record is a readable event.",
        discussion: """
            Read-only; safe while raqamd or another writer appends. Exits 0 when the log is \
            intact, 1 naming the segment file and byte offset of each damaged place. Prints the \
            head hash: note it somewhere else, and a later verify that ends at the same seq \
            with another hash shows the log was rewritten.

            --receipt FILE checks a receipt that POST /v1/events returned (the summary, or its \
            receipt object, saved in a file): exit 0 when the log still holds those events \
            unchanged (the chain hash at the receipt's last seq is the one quoted), 1 when it \
            does not, 65 when the file is not a receipt.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .shortAndLong, help: "Output format: table or json.") var output: ReportFormat = .table
    @Option(help: ArgumentHelp("Also check this receipt (an import summary or its receipt object, JSON) against the log.", valueName: "file"))
    var receipt: String?

    func run() throws {
        let claimed: Receipt? = try receipt.map { path in
            guard let bytes = FileManager.default.contents(atPath: path) else {
                printError("raqamctl: cannot read the receipt \(path)")
                throw Exit.ioError
            }
            do throws(ReceiptProblem) { return try Receipt(json: Array(bytes)) } catch {
                printError("raqamctl: \(path): not a receipt: \(error.message)")
                throw Exit.dataError
            }
        }
        _ = try global.existingEventsDirectory()
        // The log's checks, then the domain's: each record intact by the log's rules must also be an event.
        var report: LogVerification
        do throws(StoreFailure) { report = try FileEventStore.verify(stateDirectory: global.stateDirectory) } catch {
            printError("raqamctl: \(error.description)")
            throw Exit.ioError
        }
        var undecodable = report.undecodable
        // Unfinished bytes where a snapshot knows of an acknowledged event are damage, not a
        // write in progress (docs/event-log.md, "What recovery can tell apart").
        let acknowledged = AcknowledgedPosition.ofSnapshots(stateDirectory: global.stateDirectory)
        if let t = report.unfinishedTail, report.lastSeq + 1 <= acknowledged {
            undecodable.append("\(t.path) at offset \(t.offset): the last record (seq \(report.lastSeq + 1)) is damaged (\(t.reason)), and it was acknowledged: a snapshot folds the log up to seq \(acknowledged)")
            report.unfinishedTail = nil
        }
        let intact = report.problems.isEmpty && undecodable.isEmpty
        // A receipt holds when the log is intact and still has its chain hash at its last seq.
        var receiptProblem: String?
        if let claimed {
            if !intact {
                receiptProblem = "the log is damaged (above), so it cannot vouch for the receipt"
            } else {
                do { receiptProblem = try StoredEventReader(stateDirectory: global.stateDirectory).problem(with: claimed) } catch {
                    receiptProblem = "cannot read the log: \(error)"
                }
            }
        }
        if output == .json {
            var w = JSONWriter()
            w.beginObject()
            w.key("intact"); w.bool(intact)
            w.key("segments"); w.integer(report.segments)
            w.key("records"); w.integer(report.records)
            w.key("last_seq"); w.integer(report.lastSeq)
            w.key("head_hash"); w.string(report.headChain.description)
            w.key("problems"); w.beginArray()
            for p in report.problems {
                w.beginObject(); w.key("file"); w.string(p.path); w.key("offset"); w.integer(p.offset); w.key("reason"); w.string(p.reason); w.endObject()
            }
            for u in undecodable { w.beginObject(); w.key("reason"); w.string(u); w.endObject() }
            w.endArray()
            w.key("unfinished_tail"); if let t = report.unfinishedTail { w.string(t.description) } else { w.null() }
            if let claimed {
                w.key("receipt"); w.beginObject()
                w.key("first_seq"); w.integer(claimed.firstSeq); w.key("last_seq"); w.integer(claimed.lastSeq)
                w.key("holds"); w.bool(receiptProblem == nil)
                w.key("problem"); if let p = receiptProblem { w.string(p) } else { w.null() }
                w.endObject()
            }
            w.endObject()
            print(w.text)
        } else {
            for p in report.problems { print("DAMAGED  \(p)") }
            for u in undecodable { print("DAMAGED  \(u)") }
            if let t = report.unfinishedTail { print("note     \(t) (normal while a writer appends; the next writer to open the log moves it to a quarantine file beside the segment)") }
            let summary = "\(plural(report.records, "record")) in \(plural(report.segments, "segment")), seq \(report.records == 0 ? "-" : "\(report.firstSeq)…\(report.lastSeq)"), head \(report.headChain)"
            print(intact ? "ok       \(summary)" : "FAILED   \(plural(report.problems.count + undecodable.count, "damaged place")); \(summary) (see docs/recovery.md)")
            if let claimed {
                let range = "seq \(claimed.firstSeq)…\(claimed.lastSeq), chain \(claimed.chain)"
                print(receiptProblem.map { "RECEIPT  does not hold (\(range)): \($0)" } ?? "receipt  holds: \(range) is in the log, unchanged")
            }
        }
        if !intact || receiptProblem != nil { throw Exit.findings }
    }
}
