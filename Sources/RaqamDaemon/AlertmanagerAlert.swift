import Foundation
public import RaqamEngine
import RaqamModel

/// One alert as Alertmanager's `POST /api/v2/alerts` takes it (its `PostableAlert`). Its
/// labels are its identity there: they never carry a value that changes during an episode.
public struct AlertmanagerAlert: Sendable, Equatable {
    public var labels: [String: String]
    public var annotations: [String: String]
    /// µs (Unix time).
    public var startsAt: Int64
    public var endsAt: Int64
    public var generatorURL: String?

    public init(labels: [String: String], annotations: [String: String], startsAt: Int64, endsAt: Int64, generatorURL: String?) {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.generatorURL = generatorURL
    }

    /// The labels raqam gives every alert; a rule's `labels:` add to them.
    public static let ownLabels = ["alertname", "severity", "scope", "subject", "region", "subject_name"]

    /// The alert for a transition: a firing one ends at `firingEndsAt` unless re-sent (as
    /// Prometheus: a few resend delays ahead), a resolved one at its resolution time.
    /// `linkBase`: where the web view is (nil: no `generatorURL`).
    public init(_ r: AlertRecord, firingEndsAt: Int64, linkBase: String?) {
        var labels = r.labels
        labels["alertname"] = r.rule
        labels["severity"] = r.severity
        labels["scope"] = r.scope
        labels["subject"] = r.entity.description
        labels["subject_name"] = r.entityName
        if !r.region.isEmpty { labels["region"] = r.region }
        self.labels = labels
        var annotations = r.annotations
        annotations["summary"] = r.summary
        annotations["value"] = r.value
        if !r.description.isEmpty { annotations["description"] = r.description }
        self.annotations = annotations
        startsAt = r.activeSince
        // An alert resolved at the instant it started is still a resolved one to Alertmanager.
        endsAt = r.state == .firing ? firingEndsAt : max(r.at, r.activeSince + 1)
        generatorURL = linkBase.map { base in
            let key = r.entity.description.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? r.entity.description
            return base + "/subjects/" + key
        }
    }

    /// The JSON Alertmanager takes.
    var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.key("labels"); w.beginObject()
        for (k, v) in labels.sorted(by: { $0.key < $1.key }) { w.key(k); w.string(v) }
        w.endObject()
        w.key("annotations"); w.beginObject()
        for (k, v) in annotations.sorted(by: { $0.key < $1.key }) { w.key(k); w.string(v) }
        w.endObject()
        w.key("startsAt"); w.string(Self.rfc3339(startsAt))
        w.key("endsAt"); w.string(Self.rfc3339(endsAt))
        if let generatorURL { w.key("generatorURL"); w.string(generatorURL) }
        w.endObject()
        return w.text
    }

    /// A POST body: a JSON array of alerts.
    static func body(_ alerts: [AlertmanagerAlert]) -> String { "[" + alerts.map(\.json).joined(separator: ",") + "]" }

    static func rfc3339(_ micros: Int64) -> String { Timestamp(micros: micros, offsetMinutes: 0).rfc3339 }
}
