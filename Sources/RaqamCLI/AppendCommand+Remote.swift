import ArgumentParser
import Foundation
import RaqamModel

extension AppendCommand {
    /// `append FILE --server URL`: the file is sent to `POST /v1/events`, all or nothing as a
    /// local append: one request when it fits (100,000 events, 8 MiB), else a dry run of every
    /// part first and then each part in order. The same messages (FILE:LINE: field: message)
    /// and exit codes as a local append; `--receipt F` saves the receipt.
    func appendRemotely(_ server: RemoteServer, name: String) throws {
        let bytes: [UInt8]
        if file == "-" {
            bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            guard let data = FileManager.default.contents(atPath: file) else {
                printError("raqamctl: cannot read \(file)")
                throw Exit.ioError
            }
            bytes = Array(data)
        }
        let parts = Self.split(bytes, maxEvents: 100_000, maxBytes: 8 << 20)
        if parts.count > 1 {
            // A local append is all or nothing: check every part before the first is stored.
            var bad = false
            for part in parts {
                let a = try server.call(.POST, "/v1/events?dry_run=true", body: part.bytes)
                if a.status == 422 || a.status == 403 { bad = true; printResults(a, firstLine: part.firstLine, name: name) } else if a.status != 200 { throw server.fail(a) }
            }
            if bad { throw Exit.dataError }
        }
        var tally = Tally()
        var receipts: [[String: Any]] = []
        for part in parts {
            let a = try server.call(.POST, "/v1/events", body: part.bytes)
            switch a.status {
            case 200: break
            case 403, 422:
                printResults(a, firstLine: part.firstLine, name: name)
                report(tally, rejected: 0)
                throw Exit.dataError
            default:
                throw server.fail(a)
            }
            let summary = a.json as? [String: Any] ?? [:]
            // Stored now: the seqs answered, less those of duplicates (stored before).
            let results = summary["results"] as? [[String: Any]] ?? []
            let old = Set(results.filter { $0["code"] as? String == "duplicate" }.compactMap { ($0["seq"] as? NSNumber)?.uint64Value })
            for seq in summary["seqs"] as? [Any] ?? [] {
                guard let s = (seq as? NSNumber)?.uint64Value else { continue }
                tally.add(seq: s, duplicate: old.contains(s))
            }
            if let r = summary["receipt"] as? [String: Any] { receipts.append(r) }
        }
        if let path = receipt {
            // One receipt for the whole file: from its first acknowledged seq to its last, with
            // the chain hash at the last (which covers everything before it).
            let firsts = receipts.compactMap { $0["first_seq"] as? Int }, lasts = receipts.compactMap { $0["last_seq"] as? Int }
            if let first = firsts.min(), let last = lasts.max(), let chain = receipts.first(where: { $0["last_seq"] as? Int == last })?["chain"] as? String {
                let text = #"{"first_seq":\#(first),"last_seq":\#(last),"chain":"\#(chain)"}"# + "\n"
                do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
                    printError("raqamctl: cannot write the receipt \(path): \(error)")
                    throw Exit.ioError
                }
            }
        }
        report(tally, rejected: 0)
    }

    /// The server's results as a local append prints its problems: `FILE:LINE: field: message`.
    private func printResults(_ a: RemoteServer.Answer, firstLine: Int, name: String) {
        let results = (a.json as? [String: Any])?["results"] as? [[String: Any]] ?? []
        for r in results where (r["code"] as? String) != "duplicate" && (r["code"] as? String) != "not_stored" {
            let line = (r["line"] as? Int).map { $0 + firstLine - 1 }
            print(issue: ValidationIssue(file: name, line: line, field: r["field"] as? String, message: r["message"] as? String ?? "refused"))
        }
    }

    private func print(issue: ValidationIssue) { printError(issue.description) }

    /// The file cut at line ends into parts of at most `maxEvents` non-blank lines and about
    /// `maxBytes` bytes, each with the number of its first line.
    static func split(_ bytes: [UInt8], maxEvents: Int, maxBytes: Int) -> [(bytes: [UInt8], firstLine: Int)] {
        var parts: [(bytes: [UInt8], firstLine: Int)] = []
        var start = 0, startLine = 1, line = 1, events = 0, i = 0
        while i < bytes.count {
            if bytes[i] == 0x0A {
                events += 1
                if events >= maxEvents || i + 1 - start >= maxBytes {
                    parts.append((Array(bytes[start...i]), startLine))
                    start = i + 1
                    startLine = line + 1
                    events = 0
                }
                line += 1
            }
            i += 1
        }
        if start < bytes.count || parts.isEmpty { parts.append((Array(bytes[start...]), startLine)) }
        return parts
    }
}
