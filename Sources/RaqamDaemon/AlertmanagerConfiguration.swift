/// Where and how raqamd hands alerts to Alertmanager (`alertmanager:` in raqamd.yaml;
/// docs/configuration.md, docs/alerting.md).
public struct AlertmanagerConfiguration: Sendable, Equatable {
    /// `alertmanager.urls`: each Alertmanager's base URL (`http://127.0.0.1:9093`); every
    /// alert goes to each. Empty: no delivery to Alertmanager (the journal only).
    public var urls: [String] = []
    /// `alertmanager.resend_delay`: a firing alert is sent again this often (µs), as
    /// Prometheus' `--rules.alert.resend-delay`.
    public var resendDelay: Int64 = 60_000_000
    /// `alertmanager.resolved_retention`: how long a resolved alert is still sent (µs), so that
    /// an Alertmanager restarted meanwhile learns of it (Prometheus: 15 minutes).
    public var resolvedRetention: Int64 = 900_000_000
    /// `alertmanager.timeout`: one POST's limit (µs).
    public var timeout: Int64 = 10_000_000
    /// `alertmanager.queue_capacity`: alerts waiting for one Alertmanager; beyond it the oldest
    /// are dropped (counted in `/metrics`, said in the journal).
    public var queueCapacity = 10_000
    /// `alertmanager.max_batch`: alerts per POST (Prometheus: 64).
    public var maxBatch = 64
    /// `alertmanager.bearer_token_file`: sent as `Authorization: Bearer`.
    public var bearerTokenFile: String?
    /// `alertmanager.basic_auth.username` and `.password_file`.
    public var basicAuthUser: String?
    public var basicAuthPasswordFile: String?
    /// `alertmanager.ca_file`: PEM certificates that an `https://` Alertmanager's must chain
    /// to (default: the system's).
    public var caFile: String?

    public init() {}

    static let keys = ["urls", "resend_delay", "resolved_retention", "timeout", "queue_capacity", "max_batch", "bearer_token_file", "basic_auth", "ca_file"]
}
