public import RaqamModel
import RaqamStore
import Crypto
import Foundation
import Glibc
import RaqamSystem

/// The tokens' audit log: a `RecordLog` of its own in `STATE/tokens` (checksummed, hash-chained,
/// synced before `issue` or `revoke` returns), one JSON record per token issued or revoked.
/// `raqamctl tokens` is its only writer; raqamd reads it (`TokenRegistry`) and sees a new
/// record from its next request on.
public enum TokenLog {
    /// The token's prefix: a leaked token is recognisable in a paste or a secret scanner.
    public static let prefix = "rq_"

    public static func directory(stateDirectory: String) -> String { stateDirectory + "/tokens" }

    /// Issues a token: 256 random bits, returned once as `rq_` and 43 base64url characters;
    /// the log keeps its SHA-256, the subject, role, expiry and note, and who issued it when.
    /// - Throws: `TokenError` (`.badArgument` for a report token whose subject is the nation,
    ///   or an expiry not after now; `.locked`, `.io`).
    public static func issue(stateDirectory: String, subject: EntityKey, role: Role, expires: Timestamp?,
                             note: String?, by: String, now: Timestamp) throws(TokenError) -> (token: String, info: TokenInfo) {
        if role == .report && subject == .nation {
            throw TokenError(.badArgument, "a report token belongs to an org, a region or a district; the nation's events need an admin token")
        }
        if let e = expires, e.micros <= now.micros {
            throw TokenError(.badArgument, "--expires \(e.rfc3339) is not after now (\(now.rfc3339))")
        }
        let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        let token = prefix + base64url(secret)
        let digest = Array(SHA256.hash(data: Array(token.utf8)))
        let id = "tk_" + hex(SymmetricKey(size: SymmetricKeySize(bitCount: 64)).withUnsafeBytes { Array($0) })
        let record = TokenRecord(action: .issued, id: id, at: now.rfc3339, by: by, subject: subject.description, role: role,
                                 sha256: hex(digest), expiresAt: expires?.rfc3339, note: note, reason: nil)
        try append(record, stateDirectory: stateDirectory, now: now)
        let info = TokenInfo(id: id, subject: subject, role: role, issuedAt: now, issuedBy: by, expiresAt: expires,
                             note: note, revoked: nil, digest: digest)
        return (token, info)
    }

    /// Revokes a token: raqamd refuses it from its next request on.
    /// - Returns: the token as it stands now (a second revocation changes nothing).
    /// - Throws: `TokenError` `.notFound` when no token has this id.
    public static func revoke(stateDirectory: String, id: String, by: String, reason: String?, now: Timestamp) throws(TokenError) -> TokenInfo {
        let book = try read(stateDirectory: stateDirectory)
        guard var info = book.token(id: id) else {
            throw TokenError(.notFound, "no token has the id \(id); raqamctl tokens list shows the ids")
        }
        if info.revoked != nil { return info }
        try append(TokenRecord(action: .revoked, id: id, at: now.rfc3339, by: by, reason: reason), stateDirectory: stateDirectory, now: now)
        info.revoked = .init(at: now, by: by, reason: reason)
        return info
    }

    /// Every token the log tells of, in the order issued (none when there is no log yet).
    public static func read(stateDirectory: String) throws(TokenError) -> TokenBook {
        var book = TokenBook()
        _ = try read(stateDirectory: stateDirectory, after: 0, into: &book, reader: RecordLogReader(directory: directory(stateDirectory: stateDirectory)))
        return book
    }

    /// Folds the records after `seq` into `book`. - Returns: the last seq read.
    static func read(stateDirectory: String, after seq: UInt64, into book: inout TokenBook, reader: RecordLogReader) throws(TokenError) -> UInt64 {
        guard FileManager.default.fileExists(atPath: directory(stateDirectory: stateDirectory)) else { return seq }
        var failure: TokenError?
        let last: UInt64
        do {
            last = try reader.scan(from: seq + 1) { view in
                do {
                    let record = try JSONDecoder().decode(TokenRecord.self, from: Data(view.payload))
                    try book.apply(record, seq: view.seq)
                    return true
                } catch let e as TokenError {
                    failure = e
                } catch {
                    failure = TokenError(.damaged, "token log record \(view.seq) is not a token record: \(error)")
                }
                return false
            }
        } catch {
            throw TokenError(.io, "cannot read the token log in \(directory(stateDirectory: stateDirectory)): \(error)", cause: error)
        }
        if let failure { throw failure }
        return last
    }

    static func append(_ record: TokenRecord, stateDirectory: String, now: Timestamp) throws(TokenError) {
        let payload: [UInt8]
        do { payload = Array(try JSONEncoder().encode(record)) } catch {
            throw TokenError(.io, "cannot encode the token record: \(error)")
        }
        do {
            // Small segments: a token log holds a few thousand records in a lifetime.
            let log = try RecordLog(directory: directory(stateDirectory: stateDirectory), segmentSize: 1 << 20)
            try log.append([RecordLog.Entry(time: now.micros, payload: payload)])
            try log.close()
            handOver(directory(stateDirectory: stateDirectory), to: stateDirectory)
        } catch {
            if error.kind == .locked {
                throw TokenError(.locked, "another raqamctl tokens writes the token log this instant; try again", cause: error)
            }
            throw TokenError(.io, "cannot write the token log in \(directory(stateDirectory: stateDirectory)): \(error)", cause: error)
        }
    }

    /// Run as root (as `raqamctl tokens` usually is), the token log's files go to the owner
    /// of the state directory: raqamd, which runs as that user (systemd's DynamicUser= owns
    /// /var/lib/raqam), must read them. Best effort: a failure leaves them root's, and raqamd
    /// then says it cannot read the token log.
    static func handOver(_ tokens: String, to stateDirectory: String) {
        guard geteuid() == 0 else { return }
        guard let owner = try? FileCalls.information(stateDirectory), owner.st_uid != 0 else { return }
        let names = (try? FileCalls.listDirectory(tokens)) ?? []
        for path in [tokens] + names.map({ tokens + "/" + $0 }) {
            try? FileCalls.changeOwner(path, user: owner.st_uid, group: owner.st_gid)
        }
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
