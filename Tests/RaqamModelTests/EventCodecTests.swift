import Testing
@testable import RaqamModel

@Suite struct EventCodecTests {
    /// The released codes: 1 to 17 in the order v1 shipped them, each read back as its type and
    /// with its own schema.
    @Test func everyTypeKeepsItsReleasedWireCode() {
        let released: [String] = ["entity.registered", "project.registered", "project.implemented", "project.cancelled", "project.rescheduled",
                                  "service.launched", "service.simplified", "roadmap.approved", "roadmap.product_introduced", "portal.launched",
                                  "portal.updated", "training.reported", "assessment.recorded", "economy.reported", "export.reported",
                                  "startup.funded", "target.set"]
        #expect(EventType.allCases.count == released.count)
        for (i, name) in released.enumerated() {
            let type = EventType(rawValue: name)
            #expect(type?.wireCode == UInt8(i + 1), "\(name)")
            #expect(EventType(wireCode: UInt8(i + 1)) == type)
            #expect(type?.schema.type == type)
        }
        #expect(EventType(wireCode: 0) == nil)
        #expect(EventType(wireCode: 18) == nil)
    }

    @Test(arguments: EventType.allCases)
    func wireLayoutAgreesWithTheSchema(_ type: EventType) {
        let fields = type.schema.fields
        var kinds: UInt64 = 0
        for (i, f) in fields.enumerated() {
            let code: UInt64 = switch f.kind {
            case .string, .choice, .period, .regionKey, .url: 1
            case .integer: 2
            case .number: 3
            case .boolean: 4
            case .date: 5
            }
            kinds |= code << (4 * UInt64(i))
        }
        #expect(type.wireLayout.kinds == kinds)
        #expect(type.wireLayout.count == fields.count)
        #expect(fields.count <= EventData.capacity)
    }

    /// Found by the libFuzzer target (fuzz/EventDecoderFuzz.swift): a string length over
    /// Int.max trapped instead of being refused.
    @Test func aHugeStringLengthIsRefusedNotATrap() {
        let crash: [UInt8] = [0x1, 0x1, 0x0, 0x80, 0x0, 0x73, 0x65, 0x72, 0x30, 0x65, 0x67, 0x69, 0x6d, 0x65, 0x30, 0x65, 0x67, 0x69,
                              0x6d, 0x65, 0x5f, 0x75, 0x7a, 0x73, 0x6d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff, 0xfb, 0xff, 0xff, 0x3b, 0x2b, 0x6f, 0xb]
        #expect(throws: EventCodec.Problem.self) { try EventCodec.decode(crash) }
    }

    @Test func truncatedOrTrailingBytesAreRefused() throws {
        let e = Event(id: EventID(derivedFrom: "x"), type: .trainingReported, subject: try EntityKey(parsing: "region:1703"),
                      occurredAt: Timestamp(micros: 1_620_966_600_000_000, offsetMinutes: 300), source: "s",
                      data: EventData(values: [.integer(40), .integer(12)]))
        let bytes = EventCodec.encode(e)
        #expect(try EventCodec.decode(bytes) == e)
        for cut in 0..<bytes.count {
            #expect(throws: EventCodec.Problem.self) { try EventCodec.decode(Array(bytes.prefix(cut))) }
        }
        #expect(throws: EventCodec.Problem.self) { try EventCodec.decode(bytes + [0]) }
    }
}
