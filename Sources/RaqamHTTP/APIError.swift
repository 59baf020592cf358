import Hummingbird
import RaqamModel

/// An error answer: its status and `{"error": {"code": …, "message": …}}`. Messages say what
/// to do; none ever quotes a token.
struct APIError: Error {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var retryAfter: Int?

    static func unauthorized(_ message: String) -> APIError { APIError(status: .unauthorized, code: "unauthorized", message: message) }
    static func unavailable(_ message: String, retryAfter: Int = 1) -> APIError {
        APIError(status: .serviceUnavailable, code: "unavailable", message: message, retryAfter: retryAfter)
    }

    var response: Response {
        var w = JSONWriter()
        w.beginObject()
        w.key("error"); w.beginObject()
        w.key("code"); w.string(code)
        w.key("message"); w.string(message)
        w.endObject()
        w.endObject()
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = "\(retryAfter)" }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"raqam\"" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: w.text + "\n")))
    }
}

/// Every error as JSON, Hummingbird's own (404 for an unknown path, 405, 413) included.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: [(path: [Substring], methods: String)]

    /// The methods of the route `path` matches (`{…}` matches any one segment), or nil.
    func methods(of path: String) -> String? {
        let segments = path.split(separator: "/")
        return routes.first { r in
            r.path.count == segments.count && zip(r.path, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }?.methods
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            return e.response
        } catch let e as HTTPError {
            if e.status == .notFound, let allowed = methods(of: request.uri.path) {
                var r = APIError(status: .methodNotAllowed, code: "method_not_allowed",
                                 message: "\(request.method) is not served at \(request.uri.path); it takes \(allowed)").response
                r.headers[.allow] = allowed
                return r
            }
            let code = switch e.status {
            case .notFound: "not_found"
            case .methodNotAllowed: "method_not_allowed"
            case .contentTooLarge: "too_large"
            case .badRequest: "bad_request"
            default: "error"
            }
            let message = e.status == .notFound ? "no such resource: \(request.method) \(request.uri.path) (docs/api.md lists the API)" : (e.body ?? e.status.reasonPhrase)
            return APIError(status: e.status, code: code, message: message).response
        } catch {
            context.logger.error("request failed: \(error)", metadata: ["http.path": "\(request.uri.path)"])
            return APIError(status: .internalServerError, code: "internal", message: "raqamd could not answer: \(error)").response
        }
    }
}

func jsonResponse(_ status: HTTPResponse.Status, _ text: String) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
}

/// Counts every answer by route template and status code (`raqam_http_requests_total`).
struct CountingMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.request(route: context.endpointPath ?? "unmatched", code: response.status.code)
            return response
        } catch let e as HTTPError {
            metrics.request(route: context.endpointPath ?? "unmatched", code: e.status.code)
            throw e
        }
    }
}
