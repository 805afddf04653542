import CZooKeeper

// The C client's callbacks. Each is a non-capturing global function (Swift 6.3.1 crashes on capturing
// `@convention(c)` closures) that recovers its context from the `void*`, copies what the C buffers hold
// (they are not NUL-terminated and die on return) and hands it to the WatcherCore, which only updates
// its state under a lock and queues further asynchronous reads: nothing here blocks.

/// The context of one `zhandle_t`, passed as the watcher context of the handle and of every watch.
/// Kept alive (retained) until `zookeeper_close` has returned; no callback arrives after that.
final class HandleContext {
    let core: WatcherCore
    /// Which handle of the watcher's life this is; callbacks of a replaced handle are ignored.
    let epoch: UInt64

    init(core: WatcherCore, epoch: UInt64) {
        self.core = core
        self.epoch = epoch
    }
}

/// The context of one asynchronous request: retained when issued, released by its completion.
final class OperationContext {
    let handle: HandleContext
    /// The handle the request went to (follow-up requests go to the same one).
    let zh: OpaquePointer
    let node: PatroniNode
    /// The connection round it belongs to; answers from an earlier round are ignored.
    let round: UInt64

    init(handle: HandleContext, zh: OpaquePointer, node: PatroniNode, round: UInt64) {
        self.handle = handle
        self.zh = zh
        self.node = node
        self.round = round
    }
}

/// The handle's default watcher: session events (connected, connecting, expired, auth failed).
func zooKeeperSessionWatcher(
    _ zh: OpaquePointer?, _ type: Int32, _ state: Int32, _ path: UnsafePointer<CChar>?, _ context: UnsafeMutableRawPointer?
) {
    guard let zh, let context, type == ZOO_SESSION_EVENT else { return }
    let handle = Unmanaged<HandleContext>.fromOpaque(context).takeUnretainedValue()
    handle.core.sessionEvent(zh: zh, handle: handle, state: state)
}

/// The watcher of every data, exists and children watch. The client also calls path watchers with
/// session events; the default watcher handles those, so they are dropped here.
func zooKeeperPathWatcher(
    _ zh: OpaquePointer?, _ type: Int32, _ state: Int32, _ path: UnsafePointer<CChar>?, _ context: UnsafeMutableRawPointer?
) {
    guard let zh, let context, let path, type != ZOO_SESSION_EVENT else { return }
    let handle = Unmanaged<HandleContext>.fromOpaque(context).takeUnretainedValue()
    handle.core.nodeEvent(zh: zh, handle: handle, type: type, path: String(cString: path))
}

/// Completion of `zoo_awget`.
func zooKeeperDataCompletion(
    _ rc: Int32, _ value: UnsafePointer<CChar>?, _ length: Int32, _ stat: UnsafePointer<Stat>?, _ data: UnsafeRawPointer?
) {
    guard let data else { return }
    let operation = Unmanaged<OperationContext>.fromOpaque(data).takeRetainedValue()
    var bytes: [UInt8] = []
    if rc == ZOK.rawValue, let value, length > 0 {
        bytes = Array(UnsafeRawBufferPointer(start: value, count: Int(length)))
    }
    operation.handle.core.dataRead(operation, rc: rc, bytes: bytes)
}

/// Completion of `zoo_awexists`.
func zooKeeperExistsCompletion(_ rc: Int32, _ stat: UnsafePointer<Stat>?, _ data: UnsafeRawPointer?) {
    guard let data else { return }
    let operation = Unmanaged<OperationContext>.fromOpaque(data).takeRetainedValue()
    operation.handle.core.existsRead(operation, rc: rc)
}

/// Completion of `zoo_awget_children2`.
func zooKeeperChildrenCompletion(
    _ rc: Int32, _ strings: UnsafePointer<String_vector>?, _ stat: UnsafePointer<Stat>?, _ data: UnsafeRawPointer?
) {
    guard let data else { return }
    let operation = Unmanaged<OperationContext>.fromOpaque(data).takeRetainedValue()
    var names: [String] = []
    if rc == ZOK.rawValue, let strings, let list = strings.pointee.data {
        for index in 0..<Int(strings.pointee.count) {
            if let name = list[index] { names.append(String(cString: name)) }
        }
    }
    operation.handle.core.childrenRead(operation, rc: rc, names: names)
}

/// Completion of `zoo_add_auth` (context: the handle's, unretained).
func zooKeeperAuthCompletion(_ rc: Int32, _ data: UnsafeRawPointer?) {
    guard let data else { return }
    let handle = Unmanaged<HandleContext>.fromOpaque(data).takeUnretainedValue()
    handle.core.authenticated(handle: handle, rc: rc)
}
