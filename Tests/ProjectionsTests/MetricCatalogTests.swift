import Foundation
import Testing
import Projections
import RaqamModel

@Suite struct MetricCatalogTests {
    @Test func everyMetricIsDocumented() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/metrics.md"), encoding: .utf8)
        for spec in MetricCatalog.specs {
            #expect(doc.contains("| `\(spec.name)` | \(spec.kind.rawValue) |"), "docs/metrics.md lacks \(spec.name)")
        }
    }

    @Test func everyTargetMetricIsAMetricOfTheNation() {
        for name in EventSchema.targetMetrics {
            #expect(MetricCatalog.spec(name)?.scopes.contains(.nation) == true, "\(name)")
        }
    }

    @Test func metricsComeOutInCatalogOrderForTheirScope() {
        let state = ProjectionState()
        let now = Timestamp(rfc3339: "2021-06-30T00:00:00+05:00")!
        let names = state.metrics(for: .nation, now: now)!.values.map(\.name)
        #expect(names == MetricCatalog.specs.filter { $0.scopes.contains(.nation) }.map(\.name))
    }
}
