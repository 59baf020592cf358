// libFuzzer entry for the event decoder: NDJSON line validation, then the binary codec round trip.
// Built by `make fuzz` together with Sources/RaqamModel into one module.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if case .event(let event) = EventDecoder.decode(line: bytes) {
        // What validation accepted must survive the binary form and the JSON form unchanged.
        let binary = EventCodec.encode(event)
        guard let back = try? EventCodec.decode(binary), back == event else { fatalError("binary round trip changed \(event)") }
        guard case .event(let again) = EventDecoder.decode(line: Array(EventJSON.line(event).utf8)), again == event else {
            fatalError("JSON round trip changed \(event)")
        }
    }
    // Arbitrary bytes must never crash the binary decoder either.
    _ = try? EventCodec.decode(bytes)
    return 0
}
