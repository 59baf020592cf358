import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// `--server URL --token-file F [--cacert F]` (or `RAQAM_SERVER`, `RAQAM_TOKEN_FILE`,
/// `RAQAM_CACERT`): the commands that take them talk to a raqamd's HTTP API instead of the
/// local state directory (docs/api.md, "raqamctl as a client").
struct RemoteOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A raqamd's HTTP API (https://raqam.example.uz:8443; default $RAQAM_SERVER): work over HTTP instead of on the local state directory.", valueName: "url"))
    var server: String?
    @Option(help: ArgumentHelp("The file holding the token (default $RAQAM_TOKEN_FILE).", valueName: "file"))
    var tokenFile: String?
    @Option(help: ArgumentHelp("A PEM file of the CA that signed the server's certificate, when not a system one (default $RAQAM_CACERT).", valueName: "file"))
    var cacert: String?

    /// The server to talk to, or nil for local work.
    func remote() throws -> RemoteServer? {
        let env = ProcessInfo.processInfo.environment
        guard let url = server ?? env["RAQAM_SERVER"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url) != nil else {
            throw ValidationError("--server: \"\(url)\" is not an http:// or https:// URL")
        }
        guard let file = tokenFile ?? env["RAQAM_TOKEN_FILE"] else {
            throw ValidationError("--server needs --token-file (or RAQAM_TOKEN_FILE): the file holding the token raqamctl tokens issue printed")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            printError("raqamctl: cannot read the token file \(file)")
            throw Exit.ioError
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.hasPrefix("rq_") else {
            printError("raqamctl: \(file) does not hold a raqam token (one begins with rq_)")
            throw Exit.dataError
        }
        return try RemoteServer(base: url.hasSuffix("/") ? String(url.dropLast()) : url, token: token, caFile: cacert ?? env["RAQAM_CACERT"])
    }
}

/// A raqamd's HTTP API, called synchronously (one request at a time, as a command needs).
final class RemoteServer {
    let base: String
    private let token: String
    private let client: HTTPClient

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body), options: .fragmentsAllowed) }
        /// The `error.message` of an error answer.
        var errorMessage: String? { ((json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String }
    }

    init(base: String, token: String, caFile: String?) throws {
        self.base = base
        self.token = token
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) } catch {
                printError("raqamctl: --cacert \(caFile): \(error)")
                throw Exit.ioError
            }
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls, timeout: .init(connect: .seconds(10), read: .seconds(300))))
    }

    deinit { try? client.syncShutdown() }

    /// One request. - Throws: exit 74 when the server cannot be reached (the reason on stderr).
    func call(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String? = nil) throws -> Answer {
        do {
            var request = try HTTPClient.Request(url: base + path, method: method)
            request.headers.add(name: "Authorization", value: "Bearer " + token)
            request.headers.add(name: "User-Agent", value: "raqamctl/\(RaqamVersion.string)")
            if let body {
                request.body = .bytes(body)
                request.headers.add(name: "Content-Type", value: contentType ?? "application/x-ndjson")
            }
            let response = try client.execute(request: request).wait()
            let bytes = response.body.map { Array($0.readableBytesView) } ?? []
            return Answer(status: Int(response.status.code), headers: response.headers, body: bytes)
        } catch let e as ExitCode {
            throw e
        } catch {
            printError("raqamctl: cannot reach \(base): \(error)")
            throw Exit.ioError
        }
    }

    /// A GET that must answer 200: its body; otherwise the server's message and the exit code
    /// for its status (see `exitCode(for:)`).
    func get(_ path: String) throws -> Answer {
        let a = try call(.GET, path)
        guard a.status == 200 else { throw fail(a) }
        return a
    }

    /// Prints why the server refused and returns the exit code that says so: 77 (EX_NOPERM)
    /// for 401 and 403, 65 for a request the server could not take (400, 404, 413, 415, 422),
    /// 75 (EX_TEMPFAIL) for 429 and 503 (try again later), 74 otherwise.
    func fail(_ a: Answer) -> ExitCode {
        printError("raqamctl: \(base) answered \(a.status): \(a.errorMessage ?? a.text.prefix(300).description)")
        switch a.status {
        case 401, 403: return ExitCode(77)
        case 400, 404, 413, 415, 422: return Exit.dataError
        case 429, 503: return ExitCode(75)
        default: return Exit.ioError
        }
    }

    /// `?k=v&…` of the given pairs (nil values left out), percent-encoded.
    static func query(_ pairs: [(String, String?)]) -> String {
        var c = URLComponents()
        c.queryItems = pairs.compactMap { k, v in v.map { URLQueryItem(name: k, value: $0) } }
        return (c.queryItems ?? []).isEmpty ? "" : "?" + (c.percentEncodedQuery ?? "")
    }

    /// The path segment of `text`, percent-encoded.
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }
}
