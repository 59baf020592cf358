import ArgumentParser
import Projections
import Foundation
import Glibc
import RaqamAccess
import RaqamModel
import RaqamStore
import Rules

/// `raqamctl tokens`: who may report and read over HTTP (docs/api.md, "Tokens").
struct TokensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Issue, list and revoke the tokens of the HTTP API.",
        discussion: """
            A token belongs to a subject with a role. report: an org: token reports about that \
            org only, a region: token about the region and its districts and cities, a \
            district: token about that district; the nation and target.set need admin. read: \
            reads everything, reports nothing. admin: everything. raqam keeps only each \
            token's SHA-256, in an audited, hash-chained log of its own (STATE/tokens): who \
            issued or revoked which token, when, and why. raqamd reads it before each request, \
            so a new or revoked token counts from the next request on, without a restart.
            """,
        subcommands: [Issue.self, List.self, Revoke.self]
    )

    /// Who runs the command, for the audit log: the user sudo was run by, else the login.
    static var actor: String {
        let env = ProcessInfo.processInfo.environment
        if let s = env["SUDO_USER"], !s.isEmpty { return s }
        if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        return "uid \(getuid())"
    }

    static func exitCode(for error: TokenError) -> ExitCode {
        printError("raqamctl: \(error.message)")
        switch error.code {
        case .badArgument: return ExitCode(64)
        case .notFound: return Exit.dataError
        default: return Exit.ioError
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token and print it once (stdout); raqam keeps only its SHA-256.",
            discussion: """
                Prints the token alone on standard output (raqamctl tokens issue … > token-file), \
                and its id, subject, role and expiry on standard error. The token cannot be shown \
                again: a lost token is revoked and a new one issued.
                """
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The token's subject: org:<slug>, region:<code>, district:<code>, or nation (read and admin only); or a slug or name (English, Uzbek or Russian).", valueName: "subject"))
        var subject: String
        @Option(help: "report, read or admin.") var role: RoleArgument
        @Option(help: ArgumentHelp("When the token stops working: a time or date (2027-06-30: the end of that day, Tashkent time) or a duration from now (90d).", valueName: "date"))
        var expires: String?
        @Option(help: ArgumentHelp("A note for the audit log: who holds it, which system.", valueName: "text")) var note: String?
        @Option(name: .shortAndLong, help: "Output format: table (the token alone) or json.") var output: ReportFormat = .table

        /// The subject as a key (a usage error, with this command's usage, when it names none).
        func subjectKey() throws -> EntityKey {
            do { return try SubjectResolver().resolve(subject) } catch {
                throw ValidationError("SUBJECT: \(error.description)")
            }
        }

        func validate() throws { _ = try subjectKey() }

        func run() throws {
            let key = try subjectKey()
            let now = Timestamp(micros: wallClockMicros(), offsetMinutes: CalendarDate.tashkentOffsetMinutes)
            var expiry: Timestamp?
            if let expires {
                if let d = parseDuration(expires) { expiry = Timestamp(micros: now.micros + d, offsetMinutes: now.offsetMinutes) } else {
                    guard let t = TimeExpression(expires) else { throw ValidationError("--expires: \"\(expires)\" is not a time or a duration; use 90d, or \(TimeExpression.forms)") }
                    expiry = t.resolve(now: now, edge: .end)
                }
            }
            if key != .nation, FileManager.default.fileExists(atPath: FileEventStore.eventsDirectory(global.stateDirectory)),
               let known = try? FileEventStore.registeredSubjects(stateDirectory: global.stateDirectory), !known.contains(key) {
                printError("raqamctl: \(key) is not registered in \(global.stateDirectory): a token for it could report nothing (raqamctl init registers the reference data)")
                throw Exit.dataError
            }
            let issued: (token: String, info: TokenInfo)
            do throws(TokenError) {
                issued = try TokenLog.issue(stateDirectory: global.stateDirectory, subject: key, role: role.role, expires: expiry,
                                            note: note, by: TokensCommand.actor, now: now)
            } catch { throw TokensCommand.exitCode(for: error) }
            if output == .json {
                var w = JSONWriter()
                w.beginObject()
                w.key("token"); w.string(issued.token)
                writeFields(issued.info, into: &w, now: now.micros)
                w.endObject()
                print(w.text)
            } else {
                print(issued.token)
                printError("issued \(issued.info.id) for \(key) (\(role.rawValue))\(expiry.map { ", expires \($0.rfc3339)" } ?? ", no expiry"); the token is shown only this once")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens: id, subject, role, issued, expiry, revocation (never the tokens).")
        @OptionGroup var global: GlobalOptions
        @Option(name: .shortAndLong, help: "Output format: table or json.") var output: ReportFormat = .table

        func run() throws {
            let book: TokenBook
            do throws(TokenError) { book = try TokenLog.read(stateDirectory: global.stateDirectory) } catch { throw TokensCommand.exitCode(for: error) }
            let now = wallClockMicros()
            if output == .json {
                var w = JSONWriter()
                w.beginArray()
                for t in book.tokens {
                    w.beginObject()
                    writeFields(t, into: &w, now: now)
                    w.endObject()
                }
                w.endArray()
                print(w.text)
                return
            }
            let rows = book.tokens.map { t in
                [t.id, t.subject.description, t.role.rawValue, state(t, now: now), t.issuedAt.rfc3339 + " by " + t.issuedBy,
                 t.expiresAt?.rfc3339 ?? "-", t.revoked.map { "\($0.at.rfc3339) by \($0.by)" + ($0.reason.map { ": \($0)" } ?? "") } ?? "-", t.note ?? ""]
            }
            print(renderTable(["ID", "SUBJECT", "ROLE", "STATE", "ISSUED", "EXPIRES", "REVOKED", "NOTE"], rows))
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: raqamd refuses it from its next request on.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The token's id (tk_…, from tokens list).", valueName: "id")) var id: String
        @Option(help: ArgumentHelp("Why, for the audit log.", valueName: "text")) var reason: String?

        func run() throws {
            let now = Timestamp(micros: wallClockMicros(), offsetMinutes: CalendarDate.tashkentOffsetMinutes)
            let info: TokenInfo
            do throws(TokenError) {
                info = try TokenLog.revoke(stateDirectory: global.stateDirectory, id: id, by: TokensCommand.actor, reason: reason, now: now)
            } catch { throw TokensCommand.exitCode(for: error) }
            print("revoked \(info.id) (\(info.subject), \(info.role)) at \(info.revoked!.at.rfc3339)")
        }
    }
}

/// `--role`: the roles, as the argument parser lists them in --help.
enum RoleArgument: String, ExpressibleByArgument, CaseIterable {
    case report, read, admin
    var role: Role { Role(rawValue: rawValue)! }
}

private func state(_ t: TokenInfo, now: Int64) -> String {
    if t.revoked != nil { return "revoked" }
    if let e = t.expiresAt, e.micros <= now { return "expired" }
    return "valid"
}

private func writeFields(_ t: TokenInfo, into w: inout JSONWriter, now: Int64) {
    w.key("id"); w.string(t.id)
    w.key("subject"); w.string(t.subject.description)
    w.key("role"); w.string(t.role.rawValue)
    w.key("state"); w.string(state(t, now: now))
    w.key("issued_at"); w.string(t.issuedAt.rfc3339)
    w.key("issued_by"); w.string(t.issuedBy)
    w.key("expires_at"); if let e = t.expiresAt { w.string(e.rfc3339) } else { w.null() }
    w.key("note"); if let n = t.note { w.string(n) } else { w.null() }
    w.key("revoked")
    if let r = t.revoked {
        w.beginObject()
        w.key("at"); w.string(r.at.rfc3339)
        w.key("by"); w.string(r.by)
        w.key("reason"); if let reason = r.reason { w.string(reason) } else { w.null() }
        w.endObject()
    } else {
        w.null()
    }
}
