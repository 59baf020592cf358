public import RaqamHTTP
public import RaqamModel
public import RaqamStore
import RaqamEngine
public import Rules

/// The HTTP API's intake and reads, over the same pipeline and log as the control socket.
extension DaemonCore: IntakeBackend {
    public func submit(_ lines: [InputLine], decoded: [EventDecoder.Decoded], policy: Ingest.Policy) throws(StoreError) -> [LineResult] {
        let results = try ingest.submit(lines, decoded: decoded, policy: policy)
        wakeEvaluator()
        return results
    }

    public func preview(_ lines: [InputLine], decoded: [EventDecoder.Decoded]) throws(StoreError) -> [LineResult] {
        try ingest.preview(lines, decoded: decoded)
    }

    public func receipt(first: UInt64, last: UInt64) throws -> Receipt? {
        try StoredEventReader(stateDirectory: configuration.stateDirectory).receipt(first: first, last: last)
    }

    public func statusJSON() -> String { ControlSocket.statusJSON(status) }

    public var stateDirectory: String { configuration.stateDirectory }

    public var evaluation: (rules: RuleSet, clock: EvaluationClock, interval: Int64) {
        (currentRules, clock, configuration.evaluationInterval)
    }
}
