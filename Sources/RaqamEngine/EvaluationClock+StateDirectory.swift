import RaqamStore
public import Rules

extension EvaluationClock {
    /// A state directory's `clock` file that names no clock.
    public struct SettingProblem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The clock to evaluate a state directory's log by: the one chosen (flag or
    /// configuration key), else the state directory's `clock` file (`raqamctl init --clock`),
    /// else `wall`. raqamd and `raqamctl lagging` both decide it here, so both evaluate the
    /// log the same way.
    public static func resolved(_ chosen: EvaluationClock?, stateDirectory: String) throws(SettingProblem) -> EvaluationClock {
        if let chosen { return chosen }
        guard let word = FileEventStore.clockSetting(stateDirectory: stateDirectory) else { return .wall }
        guard let clock = EvaluationClock(rawValue: word) else {
            throw SettingProblem(description: "\(stateDirectory)/clock:1:1: '\(word)' is not a clock; expected wall or events (raqamctl init --clock writes it)")
        }
        return clock
    }
}
