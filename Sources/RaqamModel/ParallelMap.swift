import Dispatch

/// `transform` of every item, in order. Large inputs are cut into chunks computed on all
/// cores (`DispatchQueue.concurrentPerform`); small ones stay on this thread, where starting
/// workers would cost more than it saves.
/// - Parameter minimumChunk: the fewest items worth a chunk of their own.
package func parallelMap<T: Sendable, R: Sendable>(_ items: [T], minimumChunk: Int = 256, _ transform: @Sendable (T) -> R) -> [R] {
    let chunks = min(16, items.count / minimumChunk)
    guard chunks > 1 else { return items.map(transform) }
    var results = [R?](repeating: nil, count: items.count)
    results.withUnsafeMutableBufferPointer { buffer in
        let slots = ResultSlots(base: buffer.baseAddress!)
        let size = (items.count + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            for i in c * size..<min(items.count, (c + 1) * size) { slots.base[i] = transform(items[i]) }
        }
    }
    return results.map { $0! }
}

/// The results buffer of `parallelMap`, shared by its workers. Safe to send: each worker
/// writes only the slots of its own chunk, nothing reads them until `concurrentPerform` has
/// returned, and the buffer outlives every worker.
private struct ResultSlots<R>: @unchecked Sendable {
    let base: UnsafeMutablePointer<R?>
}
